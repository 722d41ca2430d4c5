// expect: compiles
// why: Collision.relativeVelocity (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collision-relativeVelocity.html)
using UnityEngine;

public class Breakable : MonoBehaviour
{
    void OnCollisionEnter(Collision collision)
    {
        if (collision.relativeVelocity.magnitude > 2f) Destroy(gameObject);
    }
}
