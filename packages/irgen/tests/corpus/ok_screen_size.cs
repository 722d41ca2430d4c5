// expect: compiles
// why: Screen.width and Screen.height are readable (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Screen-width.html)
using UnityEngine;

public class Center : MonoBehaviour
{
    void Start() { Debug.Log(new Vector2(Screen.width / 2, Screen.height / 2)); }
}
