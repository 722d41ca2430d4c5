// expect: compiles
// why: UnityEngine.Events.UnityEvent (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Events.UnityEvent.html)
using UnityEngine;

using UnityEngine.Events;

public class Health : MonoBehaviour
{
    public UnityEvent onDeath = new UnityEvent();
    public int hp = 1;
    void Start() { onDeath.AddListener(() => Debug.Log("dead")); }
    void Update() { if (hp <= 0) onDeath.Invoke(); }
}
