// expect: CS0103
// why: hit is not declared (out RaycastHit hit would declare it)
using UnityEngine;

public class NoHit : MonoBehaviour
{
    void Update()
    {
        if (Physics.Raycast(transform.position, Vector3.down, out hit)) Debug.Log(hit.point);
    }
}
