// expect: CS0200
// why: Collision.gameObject is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collision-gameObject.html)
using UnityEngine;

public class Swap : MonoBehaviour
{
    void OnCollisionEnter(Collision c) { c.gameObject = null; }
}
