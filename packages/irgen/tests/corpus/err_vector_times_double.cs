// expect: CS0019
// why: Vector3 * double has no operator (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3-operator_multiply.html)
using UnityEngine;

public class Dbl : MonoBehaviour
{
    void Update()
    {
        transform.position = Vector3.up * 2.0;
    }
}
