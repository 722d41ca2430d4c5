// expect: compiles
// why: KeyCode.Tab is a member of KeyCode (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.Tab.html)
using UnityEngine;

public class MenuToggle : MonoBehaviour
{
    public GameObject menu;
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Tab)) menu.SetActive(!menu.activeSelf);
    }
}
