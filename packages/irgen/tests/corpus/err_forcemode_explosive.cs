// expect: CS0117
// why: ForceMode has Force, Acceleration, Impulse, VelocityChange (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/ForceMode.html)
using UnityEngine;

public class Blast : MonoBehaviour
{
    void Start()
    {
        GetComponent<Rigidbody>().AddForce(Vector3.up, ForceMode.Explosive);
    }
}
