// expect: compiles
// why: the literal 0 converts implicitly to any enum, so Rotate(0, 90, 0, 0) picks the Space overload (C# spec 6.1.3)
using UnityEngine;

public class ZeroSpace : MonoBehaviour
{
    void Update() { transform.Rotate(0, 90, 0, 0); }
}
