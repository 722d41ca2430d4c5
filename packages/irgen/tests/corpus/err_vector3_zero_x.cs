// expect: CS1612
// why: Vector3.zero is a static property returning a new Vector3 (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3-zero.html)
using UnityEngine;

public class ZeroX : MonoBehaviour
{
    void Update()
    {
        Vector3.zero.x = 1f;
    }
}
