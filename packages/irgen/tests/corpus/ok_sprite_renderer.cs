// expect: compiles
// why: SpriteRenderer.flipX and color (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/SpriteRenderer.html)
using UnityEngine;

public class Facing : MonoBehaviour
{
    SpriteRenderer sr;
    void Start() { sr = GetComponent<SpriteRenderer>(); }
    void Update()
    {
        sr.flipX = Input.GetAxis("Horizontal") < 0f;
        sr.color = Color.white;
    }
}
