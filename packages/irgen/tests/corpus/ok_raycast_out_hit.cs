// expect: compiles
// why: Physics.Raycast(Vector3, Vector3, out RaycastHit, float) is an overload (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Physics.Raycast.html)
using UnityEngine;

public class Laser : MonoBehaviour
{
    void Update()
    {
        if (Physics.Raycast(transform.position, transform.forward, out RaycastHit hit, 100f))
        {
            Debug.Log(hit.collider.name + " at " + hit.distance);
        }
    }
}
