// expect: CS0120
// why: an instance member (transform) cannot be used from a static method
using UnityEngine;

public class Stat : MonoBehaviour
{
    static void Tick() { transform.Rotate(0f, 1f, 0f); }
    void Update() { Tick(); }
}
