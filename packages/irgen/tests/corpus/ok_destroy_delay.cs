// expect: compiles
// why: Object.Destroy(Object, float t) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Destroy.html)
using UnityEngine;

public class Temporary : MonoBehaviour
{
    void Start()
    {
        Destroy(gameObject, 2f);
    }
}
