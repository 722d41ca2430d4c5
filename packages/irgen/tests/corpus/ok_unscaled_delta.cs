// expect: compiles
// why: Time.unscaledDeltaTime is a read-only float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-unscaledDeltaTime.html)
using UnityEngine;

public class PauseSpinner : MonoBehaviour
{
    void Update()
    {
        transform.Rotate(0f, 90f * Time.unscaledDeltaTime, 0f);
    }
}
