// expect: compiles
// why: KeyCode.F is a member of KeyCode (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.F.html)
using UnityEngine;

public class Flashlight : MonoBehaviour
{
    public Light lamp;
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.F)) lamp.enabled = !lamp.enabled;
    }
}
