// expect: CS1501
// why: Quaternion.Euler takes (x, y, z) or a Vector3 (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.Euler.html)
using UnityEngine;

public class Euler2 : MonoBehaviour
{
    void Start()
    {
        transform.rotation = Quaternion.Euler(Vector3.up, 90f);
    }
}
