// expect: compiles
// why: Renderer.enabled and Collider.enabled/isTrigger are read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collider-enabled.html)
using UnityEngine;

public class Ghost : MonoBehaviour
{
    void Start()
    {
        GetComponent<Renderer>().enabled = false;
        GetComponent<Collider>().isTrigger = true;
        GetComponent<Collider>().enabled = false;
    }
}
