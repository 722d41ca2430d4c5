// expect: CS0103
// why: Horizontal must be a string literal
using UnityEngine;

public class NoQuotes : MonoBehaviour
{
    void Update()
    {
        float h = Input.GetAxis(Horizontal);
    }
}
