// expect: CS0117
// why: Input has GetKeyDown, not GetKeyPressed (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Input.html)
using UnityEngine;

public class Pressed : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyPressed(KeyCode.E)) Debug.Log("e");
    }
}
