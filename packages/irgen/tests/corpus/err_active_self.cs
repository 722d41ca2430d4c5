// expect: CS0200
// why: GameObject.activeSelf is read-only; use SetActive (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject-activeSelf.html)
using UnityEngine;

public class Off : MonoBehaviour
{
    void Update()
    {
        gameObject.activeSelf = false;
    }
}
