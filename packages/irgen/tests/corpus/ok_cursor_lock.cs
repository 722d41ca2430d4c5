// expect: compiles
// why: Cursor.lockState and Cursor.visible are read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Cursor-lockState.html)
using UnityEngine;

public class MouseLook : MonoBehaviour
{
    void Start()
    {
        Cursor.lockState = CursorLockMode.Locked;
        Cursor.visible = false;
    }
}
