// expect: CS0111
// why: two Update methods with the same signature
using UnityEngine;

public class Dup : MonoBehaviour
{
    void Update() { }
    void Update() { }
}
