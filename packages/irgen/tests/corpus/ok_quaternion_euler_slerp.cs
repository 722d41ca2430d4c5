// expect: compiles
// why: Quaternion.Euler and Quaternion.Slerp (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.Slerp.html)
using UnityEngine;

public class Tilter : MonoBehaviour
{
    void Update()
    {
        Quaternion goal = Quaternion.Euler(0f, 45f, 0f);
        transform.rotation = Quaternion.Slerp(transform.rotation, goal, 0.1f);
    }
}
