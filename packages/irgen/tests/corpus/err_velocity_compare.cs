// expect: CS0019
// why: Vector3 has no > operator; compare velocity.magnitude (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.html)
using UnityEngine;

public class Fast : MonoBehaviour
{
    public Rigidbody rb;
    void Update() { if (rb.velocity > 5f) Debug.Log("fast"); }
}
