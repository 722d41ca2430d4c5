// expect: CS1002
// why: a statement needs a semicolon
using UnityEngine;

public class Semi : MonoBehaviour
{
    void Start()
    {
        int x = 5
        Debug.Log(x);
    }
}
