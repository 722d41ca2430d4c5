// expect: CS0119
// why: GetComponent<T> is a method and must be called (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Component.GetComponent.html)
using UnityEngine;

public class Parens : MonoBehaviour
{
    void Start()
    {
        GetComponent<Rigidbody>.AddForce(Vector3.up);
    }
}
