// expect: compiles
// why: Animator.SetTrigger/SetBool/SetFloat (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Animator.html)
using UnityEngine;

public class Animate : MonoBehaviour
{
    Animator anim;
    void Awake() { anim = GetComponent<Animator>(); }
    void Update()
    {
        anim.SetFloat("Speed", Input.GetAxis("Vertical"));
        anim.SetBool("Grounded", true);
        if (Input.GetKeyDown(KeyCode.Space)) anim.SetTrigger("Jump");
    }
}
