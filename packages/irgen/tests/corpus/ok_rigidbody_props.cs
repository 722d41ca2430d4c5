// expect: compiles
// why: Rigidbody.isKinematic/useGravity/mass/angularDrag/constraints are read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.html)
using UnityEngine;

public class Freezer : MonoBehaviour
{
    void Start()
    {
        Rigidbody rb = GetComponent<Rigidbody>();
        rb.isKinematic = true;
        rb.useGravity = false;
        rb.mass = 2f;
        rb.angularDrag = 0.1f;
        rb.constraints = RigidbodyConstraints.FreezeRotation;
    }
}
