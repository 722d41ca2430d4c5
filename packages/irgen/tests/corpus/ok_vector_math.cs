// expect: compiles
// why: Vector3.Cross, Dot, Angle, Reflect, ProjectOnPlane (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.html)
using UnityEngine;

public class Geometry : MonoBehaviour
{
    void Start()
    {
        Vector3 a = Vector3.right, b = Vector3.up;
        Vector3 c = Vector3.Cross(a, b);
        float d = Vector3.Dot(a, c) + Vector3.Angle(a, b);
        Vector3 r = Vector3.Reflect(a, b) + Vector3.ProjectOnPlane(c, b);
        Debug.Log(d + r.magnitude);
    }
}
