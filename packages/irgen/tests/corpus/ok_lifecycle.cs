// expect: compiles
// why: Awake, OnEnable, Start, FixedUpdate, LateUpdate, OnDisable, OnDestroy messages (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.html)
using UnityEngine;

public class Lifecycle : MonoBehaviour
{
    void Awake() { Debug.Log("awake"); }
    void OnEnable() { Debug.Log("enable"); }
    void Start() { Debug.Log("start"); }
    void FixedUpdate() { }
    void LateUpdate() { }
    void OnDisable() { Debug.Log("disable"); }
    void OnDestroy() { Debug.Log("destroy"); }
    void OnMouseDown() { Debug.Log("click"); }
}
