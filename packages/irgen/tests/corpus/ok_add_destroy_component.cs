// expect: compiles
// why: GameObject.AddComponent<T>() and Destroy(Component) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject.AddComponent.html)
using UnityEngine;

public class Physicalize : MonoBehaviour
{
    void Start()
    {
        Rigidbody rb = gameObject.AddComponent<Rigidbody>();
        rb.mass = 3f;
        Destroy(GetComponent<BoxCollider>());
    }
}
