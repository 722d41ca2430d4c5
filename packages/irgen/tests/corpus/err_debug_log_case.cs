// expect: CS0117
// why: the member is Debug.Log (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Debug.Log.html)
using UnityEngine;

public class Typo6 : MonoBehaviour
{
    void Start()
    {
        Debug.log("hi");
    }
}
