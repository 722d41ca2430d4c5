// expect: CS1612
// why: Transform.rotation is a property returning a Quaternion copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-rotation.html)
using UnityEngine;

public class Zero : MonoBehaviour
{
    void Update()
    {
        transform.rotation.x = 0f;
    }
}
