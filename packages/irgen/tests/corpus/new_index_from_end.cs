// expect: newer
// why: index-from-end ^1 is C# 8 (System.Index is in .NET Standard 2.1, Unity 2021)
using UnityEngine;

public class Last : MonoBehaviour
{
    public int[] values = { 1, 2, 3 };
    void Start() { Debug.Log(values[^1]); }
}
