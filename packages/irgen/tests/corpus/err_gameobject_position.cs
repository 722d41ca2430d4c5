// expect: CS1061
// why: GameObject has no position; use gameObject.transform.position (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject.html)
using UnityEngine;

public class Where : MonoBehaviour
{
    void Update()
    {
        Debug.Log(gameObject.position);
    }
}
