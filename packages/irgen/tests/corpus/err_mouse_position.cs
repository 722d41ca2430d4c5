// expect: CS0200
// why: Input.mousePosition is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Input-mousePosition.html)
using UnityEngine;

public class Warp : MonoBehaviour
{
    void Update()
    {
        Input.mousePosition = Vector3.zero;
    }
}
