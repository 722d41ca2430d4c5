// expect: CS1061
// why: Rigidbody has no speed member (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.html)
using UnityEngine;

public class Speedo : MonoBehaviour
{
    public Rigidbody rb;
    void Update() { Debug.Log(rb.speed); }
}
