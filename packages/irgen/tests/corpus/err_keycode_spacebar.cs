// expect: CS0117
// why: KeyCode has Space, not Spacebar (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.html)
using UnityEngine;

public class Jump2 : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Spacebar)) Debug.Log("jump");
    }
}
