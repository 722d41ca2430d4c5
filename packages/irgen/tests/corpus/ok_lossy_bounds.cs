// expect: compiles
// why: Renderer.bounds and Bounds.Contains (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Bounds.Contains.html)
using UnityEngine;

public class Zone : MonoBehaviour
{
    public Transform player;
    void Update()
    {
        if (GetComponent<Renderer>().bounds.Contains(player.position)) Debug.Log("inside");
    }
}
