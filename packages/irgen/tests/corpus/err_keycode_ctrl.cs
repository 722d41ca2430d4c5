// expect: CS0117
// why: KeyCode has LeftControl/RightControl, no Ctrl (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.html)
using UnityEngine;

public class Crouch : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKey(KeyCode.Ctrl)) Debug.Log("crouch");
    }
}
