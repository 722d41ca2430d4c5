// expect: compiles
// why: Light.color and Color.Lerp (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Color.Lerp.html)
using UnityEngine;

public class Pulse : MonoBehaviour
{
    public Light lamp;
    void Update()
    {
        lamp.color = Color.Lerp(Color.red, Color.blue, Mathf.PingPong(Time.time, 1f));
    }
}
