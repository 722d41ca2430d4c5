// expect: compiles
// why: Color.yellow is a static property (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Color-yellow.html)
using UnityEngine;

public class Highlighter : MonoBehaviour
{
    void OnMouseEnter()
    {
        GetComponent<Renderer>().material.color = Color.yellow;
    }
}
