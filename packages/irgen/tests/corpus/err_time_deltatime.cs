// expect: CS0200
// why: Time.deltaTime has only a getter (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-deltaTime.html)
using UnityEngine;

public class SlowMo : MonoBehaviour
{
    void Update()
    {
        Time.deltaTime = 0.1f;
    }
}
