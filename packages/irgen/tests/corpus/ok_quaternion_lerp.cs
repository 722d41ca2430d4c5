// expect: compiles
// why: Quaternion.Lerp(Quaternion, Quaternion, float) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Quaternion.Lerp.html)
using UnityEngine;

public class Turner : MonoBehaviour
{
    public Transform target;
    void Update()
    {
        transform.rotation = Quaternion.Lerp(transform.rotation, target.rotation, Time.deltaTime * 2f);
    }
}
