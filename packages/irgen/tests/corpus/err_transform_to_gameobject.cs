// expect: CS0029
// why: GetComponent<Transform>() returns a Transform, not a GameObject (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Component.GetComponent.html)
using UnityEngine;

public class Wrong : MonoBehaviour
{
    void Start()
    {
        GameObject g = GetComponent<Transform>();
    }
}
