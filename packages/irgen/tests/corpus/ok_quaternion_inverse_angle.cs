// expect: compiles
// why: Quaternion.Inverse and Quaternion.Angle (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.Angle.html)
using UnityEngine;

public class Compare : MonoBehaviour
{
    public Transform other;
    void Update()
    {
        Quaternion rel = Quaternion.Inverse(transform.rotation) * other.rotation;
        if (Quaternion.Angle(transform.rotation, other.rotation) < 5f) Debug.Log(rel);
    }
}
