// expect: newer
// why: `is not null` is C# 9
using UnityEngine;

public class NotNull : MonoBehaviour
{
    public GameObject target;
    void Update()
    {
        if (target is not null) Debug.Log("set");
    }
}
