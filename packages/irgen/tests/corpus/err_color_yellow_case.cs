// expect: CS0117
// why: the member is Color.yellow (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Color-yellow.html)
using UnityEngine;

public class Typo3 : MonoBehaviour
{
    void Start()
    {
        Color c = Color.Yellow;
    }
}
