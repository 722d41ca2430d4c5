// expect: CS1729
// why: Vector3 has constructors with 2 and 3 floats (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3-ctor.html)
using UnityEngine;

public class Four : MonoBehaviour
{
    void Start()
    {
        Vector3 v = new Vector3(1f, 2f, 3f, 4f);
    }
}
