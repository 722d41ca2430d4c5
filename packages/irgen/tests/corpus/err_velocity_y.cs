// expect: CS1612
// why: Rigidbody.velocity is a property returning a Vector3 copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody-velocity.html)
using UnityEngine;

public class Jump : MonoBehaviour
{
    public Rigidbody rb;
    void Update() { rb.velocity.y = 10f; }
}
