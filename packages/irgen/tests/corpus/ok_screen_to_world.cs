// expect: compiles
// why: Camera.main and Camera.ScreenToWorldPoint (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Camera.ScreenToWorldPoint.html)
using UnityEngine;

public class Follower : MonoBehaviour
{
    void Update()
    {
        Vector3 m = Camera.main.ScreenToWorldPoint(Input.mousePosition);
        transform.position = new Vector3(m.x, m.y, 0f);
    }
}
