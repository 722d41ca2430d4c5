// expect: CS0200
// why: Random.value is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Random-value.html)
using UnityEngine;

public class Rig : MonoBehaviour
{
    void Start()
    {
        Random.value = 0.5f;
    }
}
