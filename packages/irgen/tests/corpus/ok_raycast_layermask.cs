// expect: compiles
// why: LayerMask converts to int for Physics.Raycast's layerMask parameter (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/LayerMask.html)
using UnityEngine;

public class Sight : MonoBehaviour
{
    public LayerMask mask;
    public float range = 10f;
    void Update()
    {
        RaycastHit hit;
        if (Physics.Raycast(transform.position, transform.forward, out hit, range, mask))
            Debug.DrawLine(transform.position, hit.point, Color.red);
    }
}
