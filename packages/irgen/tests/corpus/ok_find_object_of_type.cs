// expect: compiles
// why: Object.FindObjectOfType<T>() (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.FindObjectOfType.html)
using UnityEngine;

public class CamRef : MonoBehaviour
{
    void Start()
    {
        Camera cam = FindObjectOfType<Camera>();
        if (cam != null) cam.fieldOfView = 70f;
    }
}
