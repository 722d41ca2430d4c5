// expect: compiles
// why: Time.timeScale is read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-timeScale.html)
using UnityEngine;

public class Pauser : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.P)) Time.timeScale = Time.timeScale == 0f ? 1f : 0f;
    }
}
