// expect: CS0200
// why: Time.unscaledDeltaTime is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-unscaledDeltaTime.html)
using UnityEngine;

public class Unscale : MonoBehaviour
{
    void Update()
    {
        Time.unscaledDeltaTime = 0f;
    }
}
