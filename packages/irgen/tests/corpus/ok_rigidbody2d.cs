// expect: compiles
// why: Rigidbody2D.velocity and AddForce(Vector2, ForceMode2D) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody2D.AddForce.html)
using UnityEngine;

public class Hopper : MonoBehaviour
{
    Rigidbody2D body;
    void Start() { body = GetComponent<Rigidbody2D>(); }
    void Update()
    {
        body.velocity = new Vector2(Input.GetAxis("Horizontal") * 3f, body.velocity.y);
        if (Input.GetKeyDown(KeyCode.W)) body.AddForce(Vector2.up * 5f, ForceMode2D.Impulse);
    }
}
