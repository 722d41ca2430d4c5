// expect: compiles
// why: KeyCode.R is a member of KeyCode (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.R.html)
using UnityEngine;

public class Reloader : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.R)) Debug.Log("reload");
    }
}
