// expect: compiles
// why: Quaternion.LookRotation(Vector3) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.LookRotation.html)
using UnityEngine;

public class Aim : MonoBehaviour
{
    public Transform target;
    void Update()
    {
        Vector3 dir = target.position - transform.position;
        transform.rotation = Quaternion.LookRotation(dir);
    }
}
