// expect: compiles
// why: UnityEngine.Object converts implicitly to bool (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object-operator_Object.html)
using UnityEngine;

public class Exists : MonoBehaviour
{
    public GameObject thing;
    void Update()
    {
        bool alive = thing;
        if (thing) Debug.Log(alive);
    }
}
