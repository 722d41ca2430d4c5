// expect: newer
// why: switch expressions are C# 8; Unity 2021 compiles C# 9
using UnityEngine;

public class Sw : MonoBehaviour
{
    public int level = 1;
    void Start()
    {
        float speed = level switch { 1 => 2f, 2 => 4f, _ => 8f };
        Debug.Log(speed);
    }
}
