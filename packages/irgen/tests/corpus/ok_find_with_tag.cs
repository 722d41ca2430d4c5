// expect: compiles
// why: GameObject.FindWithTag returns GameObject (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject.FindWithTag.html)
using UnityEngine;

public class Chaser : MonoBehaviour
{
    Transform player;
    void Start() { player = GameObject.FindWithTag("Player").transform; }
    void Update() { transform.position = Vector3.MoveTowards(transform.position, player.position, Time.deltaTime); }
}
