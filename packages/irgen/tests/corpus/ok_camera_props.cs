// expect: compiles
// why: Camera.fieldOfView, orthographicSize, backgroundColor are read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Camera.html)
using UnityEngine;

public class Zoom : MonoBehaviour
{
    Camera cam;
    void Start() { cam = GetComponent<Camera>(); cam.backgroundColor = Color.black; }
    void Update() { cam.fieldOfView = Mathf.Clamp(cam.fieldOfView - Input.mouseScrollDelta.y, 30f, 90f); cam.orthographicSize = 5f; }
}
