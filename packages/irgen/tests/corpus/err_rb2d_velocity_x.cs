// expect: CS1612
// why: Rigidbody2D.velocity returns a Vector2 copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody2D-velocity.html)
using UnityEngine;

public class Run2D : MonoBehaviour
{
    void Update()
    {
        GetComponent<Rigidbody2D>().velocity.x = 3f;
    }
}
