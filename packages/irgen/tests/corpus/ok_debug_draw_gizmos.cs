// expect: compiles
// why: Debug.DrawRay and Gizmos in OnDrawGizmos (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Gizmos.html)
using UnityEngine;

public class Range : MonoBehaviour
{
    public float radius = 3f;
    void Update() { Debug.DrawRay(transform.position, transform.forward, Color.green); }
    void OnDrawGizmos()
    {
        Gizmos.color = Color.yellow;
        Gizmos.DrawWireSphere(transform.position, radius);
    }
}
