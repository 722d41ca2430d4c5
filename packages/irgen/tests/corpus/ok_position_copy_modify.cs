// expect: compiles
// why: Transform.position returns a copy; modify a local and assign it back (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-position.html)
using UnityEngine;

public class Lifter : MonoBehaviour
{
    void Update()
    {
        Vector3 p = transform.position;
        p.y = 5f;
        transform.position = p;
    }
}
