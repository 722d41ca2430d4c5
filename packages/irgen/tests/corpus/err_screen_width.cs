// expect: CS0200
// why: Screen.width is read-only; use Screen.SetResolution (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Screen-width.html)
using UnityEngine;

public class Resize : MonoBehaviour
{
    void Start()
    {
        Screen.width = 800;
    }
}
