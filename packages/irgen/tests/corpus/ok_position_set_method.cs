// expect: compiles
// why: Vector3.Set on the copy returned by Transform.position compiles (it changes only the copy) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.Set.html)
using UnityEngine;

public class NoOp : MonoBehaviour
{
    void Start() { transform.position.Set(1f, 2f, 3f); }
}
