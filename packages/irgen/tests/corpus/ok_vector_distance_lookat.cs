// expect: compiles
// why: Vector3.Distance and Transform.LookAt(Transform) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.LookAt.html)
using UnityEngine;

public class Watcher : MonoBehaviour
{
    public Transform target;
    void Update()
    {
        if (Vector3.Distance(transform.position, target.position) < 10f) transform.LookAt(target);
    }
}
