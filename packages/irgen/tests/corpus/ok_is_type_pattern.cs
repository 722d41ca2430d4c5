// expect: compiles
// why: type patterns `is T x` (C# 7) are supported by Unity's compiler
using UnityEngine;

public class Inspector : MonoBehaviour
{
    void OnTriggerEnter(Collider other)
    {
        Component c = other.GetComponent<Rigidbody>();
        if (c is Rigidbody rb) rb.velocity = Vector3.zero;
    }
}
