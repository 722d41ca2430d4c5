// expect: CS1501
// why: Object.Instantiate needs at least the original (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Instantiate.html)
using UnityEngine;

public class Clone : MonoBehaviour
{
    void Start()
    {
        Instantiate();
    }
}
