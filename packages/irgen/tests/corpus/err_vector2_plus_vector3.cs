// expect: CS0034
// why: Vector2 + Vector3 is ambiguous: both convert implicitly to the other (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector2.html)
using UnityEngine;

public class Ambig : MonoBehaviour
{
    void Start()
    {
        Vector3 v = new Vector2(1f, 1f) + Vector3.one;
    }
}
