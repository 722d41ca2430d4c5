// expect: newer
// why: property patterns are C# 8
using UnityEngine;

public class Pat : MonoBehaviour
{
    void OnTriggerEnter(Collider other)
    {
        if (other is { isTrigger: false }) Debug.Log("solid");
    }
}
