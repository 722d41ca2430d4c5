// expect: compiles
// why: Time.time, frameCount, fixedDeltaTime are readable (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time.html)
using UnityEngine;

public class Clock : MonoBehaviour
{
    void Update()
    {
        if (Time.frameCount % 60 == 0) Debug.Log(Time.time + Time.fixedDeltaTime);
    }
}
