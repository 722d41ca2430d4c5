// expect: CS0200
// why: Collision.contacts is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collision-contacts.html)
using UnityEngine;

public class Clear : MonoBehaviour
{
    void OnCollisionEnter(Collision c) { c.contacts = null; }
}
