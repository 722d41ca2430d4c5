// expect: CS1503
// why: Object.Destroy takes an Object (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Destroy.html)
using UnityEngine;

public class Kill : MonoBehaviour
{
    void Start()
    {
        Destroy("enemy");
    }
}
