// expect: compiles
// why: Material.SetColor(string, Color) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Material.SetColor.html)
using UnityEngine;

public class Tint : MonoBehaviour
{
    void Start() { GetComponent<MeshRenderer>().material.SetColor("_Color", Color.blue); }
}
