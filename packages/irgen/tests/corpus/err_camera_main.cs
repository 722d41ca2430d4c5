// expect: CS0200
// why: Camera.main is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Camera-main.html)
using UnityEngine;

public class CamSet : MonoBehaviour
{
    public Camera cam;
    void Start() { Camera.main = cam; }
}
