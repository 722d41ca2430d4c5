// expect: compiles
// why: Mathf.Round(float) returns float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.Round.html)
using UnityEngine;

public class Snapper : MonoBehaviour
{
    void Update()
    {
        Vector3 p = transform.position;
        transform.position = new Vector3(Mathf.Round(p.x), p.y, Mathf.Round(p.z));
    }
}
