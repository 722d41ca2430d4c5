// expect: CS0200
// why: Vector3.magnitude is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3-magnitude.html)
using UnityEngine;

public class Len : MonoBehaviour
{
    void Start()
    {
        Vector3 v = Vector3.one; v.magnitude = 1f;
    }
}
