// expect: compiles
// why: GameObject.tag, layer and name are read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject-tag.html)
using UnityEngine;

public class Labeler : MonoBehaviour
{
    void Start()
    {
        gameObject.tag = "Enemy";
        gameObject.layer = 8;
        gameObject.name = "Boss";
    }
}
