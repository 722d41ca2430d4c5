// expect: compiles
// why: Transform.forward/right read in movement (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-forward.html)
using UnityEngine;

public class Strafe : MonoBehaviour
{
    public float speed = 3f;
    void Update()
    {
        Vector3 move = transform.right * Input.GetAxis("Horizontal") + transform.forward * Input.GetAxis("Vertical");
        transform.position += move * speed * Time.deltaTime;
    }
}
