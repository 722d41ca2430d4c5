// expect: compiles
// why: Quaternion.AngleAxis and Transform.localRotation (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.AngleAxis.html)
using UnityEngine;

public class Hand : MonoBehaviour
{
    float angle;
    void Update()
    {
        angle += 30f * Time.deltaTime;
        transform.localRotation = Quaternion.AngleAxis(angle, Vector3.up);
    }
}
