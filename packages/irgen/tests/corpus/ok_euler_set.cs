// expect: compiles
// why: Transform.eulerAngles is read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-eulerAngles.html)
using UnityEngine;

public class Facer : MonoBehaviour
{
    void Start() { transform.eulerAngles = new Vector3(0, 45, 0); }
}
