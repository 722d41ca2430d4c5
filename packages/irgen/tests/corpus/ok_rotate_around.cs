// expect: compiles
// why: Transform.RotateAround(Vector3, Vector3, float) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.RotateAround.html)
using UnityEngine;

public class Orbit : MonoBehaviour
{
    void Update() { transform.RotateAround(Vector3.zero, Vector3.up, 20 * Time.deltaTime); }
}
