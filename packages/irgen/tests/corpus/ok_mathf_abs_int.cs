// expect: compiles
// why: Mathf.Abs(int) returns int; RoundToInt/FloorToInt return int (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.Abs.html)
using UnityEngine;

public class Grid : MonoBehaviour
{
    void Start()
    {
        int a = Mathf.Abs(-3);
        int b = Mathf.RoundToInt(2.6f) + Mathf.FloorToInt(transform.position.x);
        Debug.Log(a + b);
    }
}
