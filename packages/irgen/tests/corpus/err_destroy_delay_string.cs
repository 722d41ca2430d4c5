// expect: CS1503
// why: Object.Destroy's delay is a float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Destroy.html)
using UnityEngine;

public class Kill2 : MonoBehaviour
{
    void Start()
    {
        Destroy(gameObject, "2");
    }
}
