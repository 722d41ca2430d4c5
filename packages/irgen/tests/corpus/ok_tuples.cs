// expect: compiles
// why: value tuples are C# 7, supported by Unity 2021 (.NET Standard 2.1)
using UnityEngine;

public class Pair : MonoBehaviour
{
    (int min, int max) Bounds() { return (1, 5); }
    void Start()
    {
        var b = Bounds();
        Debug.Log(b.min + b.max);
    }
}
