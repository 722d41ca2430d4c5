// expect: compiles
// why: Debug.LogFormat(string, params object[]) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Debug.LogFormat.html)
using UnityEngine;

public class Reporter : MonoBehaviour
{
    public int score = 3;
    void Start()
    {
        Debug.LogFormat("{0} has {1} points", name, score);
    }
}
