// expect: compiles
// why: GameObject.SetActive(bool) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject.SetActive.html)
using UnityEngine;

public class Hider : MonoBehaviour
{
    public GameObject door;
    void Start()
    {
        door.SetActive(false);
    }
}
