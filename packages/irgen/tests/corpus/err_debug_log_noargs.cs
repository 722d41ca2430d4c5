// expect: CS1501
// why: Debug.Log has overloads taking 1 or 2 arguments (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Debug.Log.html)
using UnityEngine;

public class Empty : MonoBehaviour
{
    void Start()
    {
        Debug.Log();
    }
}
