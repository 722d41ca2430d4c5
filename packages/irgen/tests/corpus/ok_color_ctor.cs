// expect: compiles
// why: new Color(r, g, b, a) with int literals (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Color-ctor.html)
using UnityEngine;

public class Fader : MonoBehaviour
{
    void Start()
    {
        Color c = new Color(1, 0, 0, 0.5f);
        Color d = Color.red * Color.blue;
        GetComponent<SpriteRenderer>().color = c + d;
    }
}
