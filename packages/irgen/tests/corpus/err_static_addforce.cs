// expect: CS0120
// why: Rigidbody.AddForce is an instance method (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.AddForce.html)
using UnityEngine;

public class Stat2 : MonoBehaviour
{
    void Start()
    {
        Rigidbody.AddForce(Vector3.up);
    }
}
