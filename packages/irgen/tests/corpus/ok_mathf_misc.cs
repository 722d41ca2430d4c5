// expect: compiles
// why: Mathf.Clamp, Lerp, PingPong, Sin (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.html)
using UnityEngine;

public class Bob : MonoBehaviour
{
    public float height = 1f;
    void Update()
    {
        float y = Mathf.Sin(Time.time) * height + Mathf.PingPong(Time.time, 1f);
        y = Mathf.Clamp(y, -2f, 2f);
        transform.position = new Vector3(0f, Mathf.Lerp(transform.position.y, y, 0.5f), 0f);
    }
}
