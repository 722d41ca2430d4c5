// expect: CS0117
// why: the member is Mathf.Clamp (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.Clamp.html)
using UnityEngine;

public class Typo5 : MonoBehaviour
{
    void Start()
    {
        float x = Mathf.clamp(1f, 0f, 2f);
    }
}
