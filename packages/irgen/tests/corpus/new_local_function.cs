// expect: newer
// why: local functions are C# 7 (Unity compiles them; mono's mcs does not)
using UnityEngine;

public class Local : MonoBehaviour
{
    void Start()
    {
        float Sq(float x) => x * x;
        Debug.Log(Sq(3f));
    }
}
