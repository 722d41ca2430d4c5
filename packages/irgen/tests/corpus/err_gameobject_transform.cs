// expect: CS0200
// why: GameObject.transform is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject-transform.html)
using UnityEngine;

public class Detach : MonoBehaviour
{
    void Start()
    {
        gameObject.transform = null;
    }
}
