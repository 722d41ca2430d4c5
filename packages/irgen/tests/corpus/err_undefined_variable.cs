// expect: CS0103
// why: the name speed is not declared
using UnityEngine;

public class NoSpeed : MonoBehaviour
{
    void Update()
    {
        transform.Translate(Vector3.forward * speed * Time.deltaTime);
    }
}
