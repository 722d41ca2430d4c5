// expect: CS0029
// why: Behaviour.enabled is a bool (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Behaviour-enabled.html)
using UnityEngine;

public class Wrong3 : MonoBehaviour
{
    void Start()
    {
        enabled = "no";
    }
}
