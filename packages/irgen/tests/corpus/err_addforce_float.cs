// expect: CS1503
// why: Rigidbody.AddForce takes a Vector3 (or three floats) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.AddForce.html)
using UnityEngine;

public class Push2 : MonoBehaviour
{
    void Start()
    {
        GetComponent<Rigidbody>().AddForce(10f);
    }
}
