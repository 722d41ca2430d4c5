// expect: compiles
// why: Vector3.SmoothDamp(current, target, ref velocity, smoothTime) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.SmoothDamp.html)
using UnityEngine;

public class CameraFollow : MonoBehaviour
{
    public Transform target;
    Vector3 velocity = Vector3.zero;
    float zoom, zoomVel;
    void LateUpdate()
    {
        transform.position = Vector3.SmoothDamp(transform.position, target.position, ref velocity, 0.3f);
        zoom = Mathf.SmoothDamp(zoom, 5f, ref zoomVel, 0.5f);
    }
}
