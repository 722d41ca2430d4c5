// expect: CS0200
// why: Transform.childCount is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-childCount.html)
using UnityEngine;

public class NoKids : MonoBehaviour
{
    void Update()
    {
        transform.childCount = 0;
    }
}
