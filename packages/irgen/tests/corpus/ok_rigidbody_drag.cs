// expect: compiles
// why: Rigidbody.drag is a read/write float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody-drag.html)
using UnityEngine;

public class Parachute : MonoBehaviour
{
    public Rigidbody rb;
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Space)) rb.drag = 5f;
    }
}
