// expect: compiles
// why: Component.GetComponentInChildren<T>() and Light.intensity (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Light-intensity.html)
using UnityEngine;

public class Dimmer : MonoBehaviour
{
    void Start()
    {
        GetComponentInChildren<Light>().intensity = 2f;
    }
}
