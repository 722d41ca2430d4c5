// expect: compiles
// why: Object.Instantiate(Object original, Transform parent) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Instantiate.html)
using UnityEngine;

public class Attacher : MonoBehaviour
{
    public GameObject prefab;
    void Start()
    {
        Instantiate(prefab, transform);
    }
}
