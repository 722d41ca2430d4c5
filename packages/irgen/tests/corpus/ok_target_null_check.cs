// expect: compiles
// why: comparing a UnityEngine.Object to null uses Unity's == operator (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object-operator_eq.html)
using UnityEngine;

public class Seeker : MonoBehaviour
{
    public Transform target;
    void Update()
    {
        if (target == null) return;
        transform.position = Vector3.MoveTowards(transform.position, target.position, 2f * Time.deltaTime);
    }
}
