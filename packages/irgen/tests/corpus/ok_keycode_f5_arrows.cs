// expect: compiles
// why: KeyCode.F5 and the arrow keys are KeyCode members (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.html)
using UnityEngine;

public class QuickSave : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.F5)) PlayerPrefs.Save();
        if (Input.GetKey(KeyCode.UpArrow) || Input.GetKey(KeyCode.LeftControl)) transform.Translate(0f, 0f, Time.deltaTime);
    }
}
