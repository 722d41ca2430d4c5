// expect: CS0117
// why: Space has World and Self (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Space.html)
using UnityEngine;

public class Local : MonoBehaviour
{
    void Update()
    {
        transform.Rotate(Vector3.up, Space.Local);
    }
}
