// expect: compiles
// why: Rigidbody.MovePosition(Vector3) and Rigidbody.position (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.MovePosition.html)
using UnityEngine;

public class Slider : MonoBehaviour
{
    Rigidbody rb;
    void Start() { rb = GetComponent<Rigidbody>(); }
    void FixedUpdate() { rb.MovePosition(rb.position + Vector3.right * Time.fixedDeltaTime); }
}
