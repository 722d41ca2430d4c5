// expect: CS0200
// why: Time.frameCount is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-frameCount.html)
using UnityEngine;

public class Frames : MonoBehaviour
{
    void Update()
    {
        Time.frameCount = 0;
    }
}
