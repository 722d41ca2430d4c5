// expect: CS0019
// why: Quaternion has no + operator (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.html)
using UnityEngine;

public class Add : MonoBehaviour
{
    void Start()
    {
        Quaternion q = Quaternion.Euler(0f, 90f, 0f) + Quaternion.identity;
    }
}
