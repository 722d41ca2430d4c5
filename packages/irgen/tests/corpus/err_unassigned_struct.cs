// expect: CS0165
// why: v.y and v.z are never assigned before v is used
using UnityEngine;

public class Partial : MonoBehaviour
{
    void Start()
    {
        Vector3 v; v.x = 1f; transform.position = v;
    }
}
