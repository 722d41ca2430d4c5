// expect: CS1612
// why: Material.color is a property returning a Color copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Material-color.html)
using UnityEngine;

public class Alpha : MonoBehaviour
{
    void Update()
    {
        GetComponent<Renderer>().material.color.a = 0.5f;
    }
}
