// expect: CS0117
// why: the member is Vector3.up (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3-up.html)
using UnityEngine;

public class Typo4 : MonoBehaviour
{
    void Update()
    {
        transform.Translate(Vector3.Up);
    }
}
