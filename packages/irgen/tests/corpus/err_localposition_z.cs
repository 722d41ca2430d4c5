// expect: CS1612
// why: Transform.localPosition returns a Vector3 copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-localPosition.html)
using UnityEngine;

public class Push : MonoBehaviour
{
    void Update()
    {
        transform.localPosition.z += 1f;
    }
}
