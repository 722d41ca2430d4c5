// expect: CS0266
// why: Random.Range(float, float) returns float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Random.Range.html)
using UnityEngine;

public class Narrow2 : MonoBehaviour
{
    void Start()
    {
        int r = Random.Range(0f, 5f);
    }
}
