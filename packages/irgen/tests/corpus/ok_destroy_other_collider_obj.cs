// expect: compiles
// why: OnCollisionEnter with Collision.collider and Destroy(collision.gameObject) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collision-collider.html)
using UnityEngine;

public class Crusher : MonoBehaviour
{
    void OnCollisionEnter(Collision collision)
    {
        if (collision.collider.CompareTag("Crate")) Destroy(collision.gameObject);
    }
}
