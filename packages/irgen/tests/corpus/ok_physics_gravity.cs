// expect: compiles
// why: Physics.gravity is read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Physics-gravity.html)
using UnityEngine;

public class LowGravity : MonoBehaviour
{
    void Start() { Physics.gravity = new Vector3(0, -2f, 0); }
}
