// expect: compiles
// why: Application.Quit() (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Application.Quit.html)
using UnityEngine;

public class QuitButton : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Escape)) Application.Quit();
    }
}
