// expect: CS0161
// why: a non-void method must return a value on every path
using UnityEngine;

public class Score : MonoBehaviour
{
    int GetScore() { Debug.Log("x"); }
}
