// expect: compiles
// why: Physics.OverlapSphere(Vector3, float) returns Collider[] (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Physics.OverlapSphere.html)
using UnityEngine;

public class Explosion : MonoBehaviour
{
    public float radius = 5f;
    void Start()
    {
        foreach (Collider c in Physics.OverlapSphere(transform.position, radius))
        {
            Rigidbody rb = c.attachedRigidbody;
            if (rb != null) rb.AddExplosionForce(500f, transform.position, radius);
        }
    }
}
