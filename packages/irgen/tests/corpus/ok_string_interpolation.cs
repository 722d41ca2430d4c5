// expect: compiles
// why: string interpolation is C# 6, supported by Unity's compiler
using UnityEngine;

public class ScoreLog : MonoBehaviour
{
    public int score = 10;
    void Start() { Debug.Log($"Score: {score}"); }
}
