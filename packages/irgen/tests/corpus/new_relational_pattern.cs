// expect: newer
// why: relational and combinator patterns are C# 9
using UnityEngine;

public class Rel : MonoBehaviour
{
    public int hp = 5;
    void Update()
    {
        if (hp is > 0 and < 3) Debug.Log("low");
    }
}
