// expect: compiles
// why: CharacterController.Move and isGrounded (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/CharacterController.Move.html)
using UnityEngine;

[RequireComponent(typeof(CharacterController))]
public class Walker : MonoBehaviour
{
    CharacterController cc;
    Vector3 velocity;
    void Start() { cc = GetComponent<CharacterController>(); }
    void Update()
    {
        if (cc.isGrounded) velocity.y = 0f;
        velocity.y += -9.81f * Time.deltaTime;
        cc.Move(velocity * Time.deltaTime);
    }
}
