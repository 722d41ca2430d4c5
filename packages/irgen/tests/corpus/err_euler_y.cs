// expect: CS1612
// why: Transform.eulerAngles is a property returning a Vector3 copy (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-eulerAngles.html)
using UnityEngine;

public class Yaw : MonoBehaviour
{
    void Update()
    {
        transform.eulerAngles.y = 90f;
    }
}
