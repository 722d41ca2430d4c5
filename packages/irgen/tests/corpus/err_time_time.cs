// expect: CS0200
// why: Time.time is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-time.html)
using UnityEngine;

public class Rewind : MonoBehaviour
{
    void Update()
    {
        Time.time = 0f;
    }
}
