// expect: CS0117
// why: KeyCode has Return and KeypadEnter, no Enter (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.html)
using UnityEngine;

public class Submit : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Enter)) Debug.Log("go");
    }
}
