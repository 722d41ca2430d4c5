// expect: CS1955
// why: Time.deltaTime is a property, not a method (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-deltaTime.html)
using UnityEngine;

public class Call : MonoBehaviour
{
    void Update()
    {
        float d = Time.deltaTime();
    }
}
