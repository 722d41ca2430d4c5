// expect: compiles
// why: KeyCode.Alpha1 is a member of KeyCode (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/KeyCode.Alpha1.html)
using UnityEngine;

public class WeaponSlot : MonoBehaviour
{
    public int slot;
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Alpha1)) slot = 1;
        if (Input.GetKeyDown(KeyCode.Alpha2)) slot = 2;
    }
}
