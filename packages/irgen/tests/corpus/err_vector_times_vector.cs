// expect: CS0019
// why: Vector3 has no Vector3 * Vector3 operator; use Vector3.Scale (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.html)
using UnityEngine;

public class Mul : MonoBehaviour
{
    void Update()
    {
        Vector3 v = transform.position * transform.position;
    }
}
