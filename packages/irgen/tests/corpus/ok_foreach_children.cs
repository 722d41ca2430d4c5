// expect: compiles
// why: Transform implements IEnumerable over its children (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.html)
using UnityEngine;

public class ChildHider : MonoBehaviour
{
    void Start()
    {
        foreach (Transform child in transform) child.gameObject.SetActive(false);
    }
}
