// expect: compiles
// why: Transform.Translate(Vector3, Space) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.Translate.html)
using UnityEngine;

public class Drifter : MonoBehaviour
{
    public float speed = 2f;
    void Update()
    {
        transform.Translate(Vector3.forward * speed * Time.deltaTime, Space.World);
    }
}
