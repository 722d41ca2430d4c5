// expect: compiles
// why: Transform.Rotate(Vector3 axis, float angle) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.Rotate.html)
using UnityEngine;

public class AxisSpin : MonoBehaviour
{
    void Update()
    {
        transform.Rotate(Vector3.up, 90f * Time.deltaTime);
    }
}
