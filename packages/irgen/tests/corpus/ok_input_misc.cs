// expect: compiles
// why: Input.GetKeyUp, GetKey(string), anyKeyDown, mouseScrollDelta (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Input.html)
using UnityEngine;

public class Inputs : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyUp(KeyCode.LeftShift) || Input.GetKey("space")) Debug.Log("key");
        if (Input.anyKeyDown) Debug.Log(Input.mouseScrollDelta.y);
    }
}
