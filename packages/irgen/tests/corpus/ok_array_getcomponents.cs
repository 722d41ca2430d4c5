// expect: compiles
// why: GetComponents<T>() returns T[] (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Component.GetComponents.html)
using UnityEngine;

public class AllColliders : MonoBehaviour
{
    void Start()
    {
        foreach (Collider c in GetComponents<Collider>()) c.enabled = false;
    }
}
