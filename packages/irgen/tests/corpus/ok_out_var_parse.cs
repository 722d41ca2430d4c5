// expect: compiles
// why: out variables (C# 7) are supported by Unity's compiler
using UnityEngine;

public class Parser : MonoBehaviour
{
    public string input = "42";
    void Start()
    {
        if (int.TryParse(input, out var n)) Debug.Log(n);
    }
}
