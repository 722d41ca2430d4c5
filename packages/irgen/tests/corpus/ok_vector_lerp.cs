// expect: compiles
// why: Vector3.Lerp(Vector3, Vector3, float) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Vector3.Lerp.html)
using UnityEngine;

public class Smooth : MonoBehaviour
{
    public Vector3 goal = new Vector3(0f, 2f, 0f);
    void Update() { transform.position = Vector3.Lerp(transform.position, goal, 5f * Time.deltaTime); }
}
