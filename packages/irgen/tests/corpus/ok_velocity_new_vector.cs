// expect: compiles
// why: Rigidbody.velocity is read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody-velocity.html)
using UnityEngine;

public class Jumper : MonoBehaviour
{
    public Rigidbody rb;
    void Update()
    {
        if (Input.GetButtonDown("Jump")) rb.velocity = new Vector3(rb.velocity.x, 10f, rb.velocity.z);
    }
}
