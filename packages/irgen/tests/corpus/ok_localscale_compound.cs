// expect: compiles
// why: Transform.localScale is read/write; *= reads, multiplies and assigns (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-localScale.html)
using UnityEngine;

public class Grower : MonoBehaviour
{
    void Update()
    {
        transform.localScale *= 1.01f;
    }
}
