// expect: compiles
// why: Vector3.Scale(Vector3, Vector3) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.Scale.html)
using UnityEngine;

public class Stretch : MonoBehaviour
{
    void Start()
    {
        transform.localScale = Vector3.Scale(transform.localScale, new Vector3(2f, 1f, 1f));
    }
}
