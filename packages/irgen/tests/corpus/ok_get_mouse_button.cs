// expect: compiles
// why: Input.GetMouseButton(int) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Input.GetMouseButton.html)
using UnityEngine;

public class Painter : MonoBehaviour
{
    void Update()
    {
        if (Input.GetMouseButton(0)) Debug.Log("painting");
        if (Input.GetMouseButtonUp(1)) Debug.Log("released");
    }
}
