// expect: CS1503
// why: Transform.Rotate's angle is a float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.Rotate.html)
using UnityEngine;

public class Spin2 : MonoBehaviour
{
    void Update()
    {
        transform.Rotate(Vector3.up, "fast");
    }
}
