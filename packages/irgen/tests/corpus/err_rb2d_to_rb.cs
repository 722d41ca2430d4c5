// expect: CS0029
// why: Rigidbody2D is not a Rigidbody (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody2D.html)
using UnityEngine;

public class Wrong2 : MonoBehaviour
{
    void Start()
    {
        Rigidbody rb = GetComponent<Rigidbody2D>();
    }
}
