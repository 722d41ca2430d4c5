// expect: CS1061
// why: RaycastHit has no gameObject member; use hit.collider.gameObject (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/RaycastHit.html)
using UnityEngine;

public class Picker : MonoBehaviour
{
    void Update()
    {
        RaycastHit hit; if (Physics.Raycast(transform.position, transform.forward, out hit)) Destroy(hit.gameObject);
    }
}
