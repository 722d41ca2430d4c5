// expect: compiles
// why: Random.Range(int,int) returns int, Random.Range(float,float) float, Random.value is readable (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Random.Range.html)
using UnityEngine;

public class Dice : MonoBehaviour
{
    void Start()
    {
        int roll = Random.Range(1, 7);
        float f = Random.Range(0f, 1f) + Random.value;
        Debug.Log(roll + f);
    }
}
