// expect: CS1061
// why: the member is Transform.position (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-position.html)
using UnityEngine;

public class Typo2 : MonoBehaviour
{
    void Update()
    {
        Vector3 p = transform.Position;
    }
}
