// expect: CS0029
// why: no implicit conversion from int to string
using UnityEngine;

public class Label : MonoBehaviour
{
    void Start()
    {
        string s = 5;
    }
}
