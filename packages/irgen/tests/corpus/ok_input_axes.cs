// expect: compiles
// why: Input.GetAxis(string) returns float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Input.GetAxis.html)
using UnityEngine;

public class Mover : MonoBehaviour
{
    public float speed = 5f;
    void Update()
    {
        float h = Input.GetAxis("Horizontal");
        float v = Input.GetAxisRaw("Vertical");
        transform.Translate(new Vector3(h, 0f, v) * speed * Time.deltaTime);
    }
}
