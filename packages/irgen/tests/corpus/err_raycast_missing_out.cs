// expect: CS1620
// why: the hit argument of Physics.Raycast must be passed with out (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Physics.Raycast.html)
using UnityEngine;

public class NoOut : MonoBehaviour
{
    void Update()
    {
        RaycastHit hit; if (Physics.Raycast(transform.position, Vector3.down, hit)) Debug.Log(hit.point);
    }
}
