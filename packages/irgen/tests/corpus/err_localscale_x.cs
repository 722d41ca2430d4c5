// expect: CS1612
// why: Transform.localScale is a property returning a Vector3 copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-localScale.html)
using UnityEngine;

public class Widen : MonoBehaviour
{
    void Update()
    {
        transform.localScale.x = 2f;
    }
}
