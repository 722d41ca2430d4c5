// expect: compiles
// why: OnTriggerEnter(Collider) and Component.CompareTag (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.OnTriggerEnter.html)
using UnityEngine;

public class Pickup : MonoBehaviour
{
    void OnTriggerEnter(Collider other)
    {
        if (other.CompareTag("Player")) Destroy(gameObject);
    }
}
