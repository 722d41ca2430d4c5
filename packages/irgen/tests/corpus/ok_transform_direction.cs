// expect: compiles
// why: Transform.TransformDirection(Vector3) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.TransformDirection.html)
using UnityEngine;

public class LocalPush : MonoBehaviour
{
    void FixedUpdate()
    {
        GetComponent<Rigidbody>().AddForce(transform.TransformDirection(Vector3.forward) * 10f);
    }
}
