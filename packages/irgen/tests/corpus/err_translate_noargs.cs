// expect: CS1501
// why: Transform.Translate has no overload without arguments (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.Translate.html)
using UnityEngine;

public class Empty2 : MonoBehaviour
{
    void Update()
    {
        transform.Translate();
    }
}
