// expect: compiles
// why: Mathf.Max(int, int) returns int (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.Max.html)
using UnityEngine;

public class Counter : MonoBehaviour
{
    void Start()
    {
        int n = Mathf.Max(1, 2);
        int m = Mathf.Min(3, n);
        Debug.Log(n + m);
    }
}
