// expect: compiles
// why: Random.insideUnitSphere, onUnitSphere, rotation (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Random.html)
using UnityEngine;

public class Scatter : MonoBehaviour
{
    void Start()
    {
        transform.position = Random.insideUnitSphere * 5f + Random.onUnitSphere;
        transform.rotation = Random.rotation;
    }
}
