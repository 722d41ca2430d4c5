// expect: CS0200
// why: Transform.root is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-root.html)
using UnityEngine;

public class Reroot : MonoBehaviour
{
    void Start()
    {
        transform.root = null;
    }
}
