// expect: compiles
// why: Physics.Raycast(Ray, out RaycastHit) and Camera.ScreenPointToRay exist (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Camera.ScreenPointToRay.html)
using UnityEngine;

public class Clicker : MonoBehaviour
{
    void Update()
    {
        if (Input.GetMouseButtonDown(0))
        {
            Ray ray = Camera.main.ScreenPointToRay(Input.mousePosition);
            RaycastHit hit;
            if (Physics.Raycast(ray, out hit)) Destroy(hit.collider.gameObject);
        }
    }
}
