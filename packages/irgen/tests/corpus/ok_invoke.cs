// expect: compiles
// why: MonoBehaviour.Invoke(string, float) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.Invoke.html)
using UnityEngine;

public class Fuse : MonoBehaviour
{
    void Start()
    {
        Invoke("Explode", 2f);
    }
    void Explode()
    {
        Debug.Log("boom");
        Destroy(gameObject);
    }
}
