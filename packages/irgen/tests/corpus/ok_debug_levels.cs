// expect: compiles
// why: Debug.LogWarning, Debug.LogError(object, Object) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Debug.LogError.html)
using UnityEngine;

public class Checker : MonoBehaviour
{
    public GameObject needed;
    void Awake()
    {
        if (needed == null) Debug.LogError("missing", this);
        else Debug.LogWarning("ok");
    }
}
