// expect: compiles
// why: Rigidbody.AddForce(Vector3, ForceMode) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Rigidbody.AddForce.html)
using UnityEngine;

[RequireComponent(typeof(Rigidbody))]
public class Launcher : MonoBehaviour
{
    void Start()
    {
        GetComponent<Rigidbody>().AddForce(Vector3.up * 5f, ForceMode.Impulse);
    }
}
