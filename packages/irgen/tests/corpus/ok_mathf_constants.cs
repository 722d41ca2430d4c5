// expect: compiles
// why: Mathf.PI, Deg2Rad, Rad2Deg, Infinity (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Mathf.html)
using UnityEngine;

public class Circle : MonoBehaviour
{
    public float radius = 2f;
    void Update()
    {
        float t = Time.time * Mathf.PI * 0.5f;
        float best = Mathf.Infinity;
        transform.position = new Vector3(Mathf.Cos(t), 0f, Mathf.Sin(t)) * radius;
        Debug.Log(45f * Mathf.Deg2Rad * Mathf.Rad2Deg + best);
    }
}
