// expect: CS0117
// why: the member is Time.deltaTime (C# is case-sensitive) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Time-deltaTime.html)
using UnityEngine;

public class Typo : MonoBehaviour
{
    void Update()
    {
        transform.Rotate(0f, 90f * Time.deltatime, 0f);
    }
}
