// expect: CS7036
// why: GameObject.SetActive(bool value) has a required parameter (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject.SetActive.html)
using UnityEngine;

public class Act : MonoBehaviour
{
    void Start()
    {
        gameObject.SetActive();
    }
}
