// expect: CS1612
// why: Transform.position is a property returning a Vector3 copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-position.html)
using UnityEngine;

public class SetX : MonoBehaviour
{
    void Update()
    {
        transform.position.x = 5f;
    }
}
