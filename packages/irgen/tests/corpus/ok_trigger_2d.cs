// expect: compiles
// why: OnTriggerEnter2D(Collider2D) and OnCollisionEnter2D(Collision2D) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.OnTriggerEnter2D.html)
using UnityEngine;

public class Hazard2D : MonoBehaviour
{
    void OnTriggerEnter2D(Collider2D other)
    {
        if (other.CompareTag("Player")) Destroy(other.gameObject);
    }
    void OnCollisionEnter2D(Collision2D c)
    {
        Debug.Log(c.gameObject.name);
    }
}
