// expect: compiles
// why: Rigidbody.AddTorque(Vector3) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.AddTorque.html)
using UnityEngine;

public class Twirl : MonoBehaviour
{
    public Rigidbody rb;
    void FixedUpdate() { rb.AddTorque(Vector3.up * 2f); }
}
