// expect: compiles
// why: Vector2 converts implicitly to Vector3 (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector2.html)
using UnityEngine;

public class Flat : MonoBehaviour
{
    void Start()
    {
        Vector3 v = new Vector2(1f, 2f);
        transform.position = new Vector3(v.x, v.y);
    }
}
