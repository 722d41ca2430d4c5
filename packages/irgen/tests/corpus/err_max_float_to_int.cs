// expect: CS0266
// why: Mathf.Max(float, float) returns float; no implicit float→int (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.Max.html)
using UnityEngine;

public class Narrow : MonoBehaviour
{
    void Start()
    {
        int n = Mathf.Max(1f, 2f);
    }
}
