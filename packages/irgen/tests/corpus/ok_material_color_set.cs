// expect: compiles
// why: Renderer.material returns a Material (a class), whose color can be set (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Material-color.html)
using UnityEngine;

public class Painter2 : MonoBehaviour
{
    void Start()
    {
        GetComponent<Renderer>().material.color = Color.red;
    }
}
