// expect: newer
// why: target-typed new is C# 9; Unity 2021 compiles C# 9
using UnityEngine;

public class Tnew : MonoBehaviour
{
    void Start()
    {
        Vector3 v = new(1f, 2f, 3f);
        transform.position = v;
    }
}
