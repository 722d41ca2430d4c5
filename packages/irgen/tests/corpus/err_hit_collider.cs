// expect: CS0200
// why: RaycastHit.collider is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/RaycastHit-collider.html)
using UnityEngine;

public class Forget : MonoBehaviour
{
    void Update()
    {
        RaycastHit hit = new RaycastHit(); hit.collider = null;
    }
}
