// expect: compiles
// why: Component.TryGetComponent<T>(out T) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Component.TryGetComponent.html)
using UnityEngine;

public class Kicker : MonoBehaviour
{
    void OnTriggerEnter(Collider other)
    {
        if (other.TryGetComponent(out Rigidbody body)) body.AddForce(Vector3.up * 3f, ForceMode.Impulse);
    }
}
