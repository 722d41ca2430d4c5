// expect: CS0200
// why: Component.gameObject is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Component-gameObject.html)
using UnityEngine;

public class Rebind : MonoBehaviour
{
    void Start()
    {
        gameObject = null;
    }
}
