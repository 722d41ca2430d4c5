// expect: compiles
// why: Transform.Find(string) returns Transform (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.Find.html)
using UnityEngine;

public class Armory : MonoBehaviour
{
    void Start() { transform.Find("Gun").gameObject.SetActive(true); }
}
