// expect: newer
// why: ??= is C# 8; Unity 2021 compiles C# 9
using UnityEngine;

public class Lazy : MonoBehaviour
{
    Rigidbody rb;
    void Start()
    {
        rb ??= GetComponent<Rigidbody>();
    }
}
