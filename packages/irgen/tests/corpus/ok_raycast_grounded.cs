// expect: compiles
// why: Physics.Raycast(Vector3, Vector3, float) returns bool (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Physics.Raycast.html)
using UnityEngine;

public class GroundCheck : MonoBehaviour
{
    public bool grounded;
    void FixedUpdate()
    {
        grounded = Physics.Raycast(transform.position, Vector3.down, 1.1f);
    }
}
