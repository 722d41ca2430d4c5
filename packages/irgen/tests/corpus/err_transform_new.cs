// expect: CS0122
// why: Transform has no public constructor (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.html)
using UnityEngine;

public class NewT : MonoBehaviour
{
    void Start()
    {
        Transform t = new Transform();
    }
}
