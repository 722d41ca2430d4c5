// expect: CS1612
// why: SpriteRenderer.color returns a Color copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/SpriteRenderer-color.html)
using UnityEngine;

public class Redden : MonoBehaviour
{
    void Update()
    {
        GetComponent<SpriteRenderer>().color.r = 1f;
    }
}
