// expect: compiles
// why: a coroutine that yields null each frame and changes Material.color (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Coroutine.html)
using UnityEngine;

using System.Collections;

public class FadeOut : MonoBehaviour
{
    IEnumerator Fade()
    {
        Material m = GetComponent<Renderer>().material;
        for (float a = 1f; a >= 0f; a -= 0.1f)
        {
            Color c = m.color;
            c.a = a;
            m.color = c;
            yield return null;
        }
    }
    void Start() { StartCoroutine(Fade()); }
}
