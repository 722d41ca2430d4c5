// expect: compiles
// why: Transform.Rotate(float, float, float); int literals convert to float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.Rotate.html)
using UnityEngine;

public class IntSpin : MonoBehaviour
{
    void Update()
    {
        transform.Rotate(0, 90 * Time.deltaTime, 0);
    }
}
