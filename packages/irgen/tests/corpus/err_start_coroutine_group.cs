// expect: CS1503
// why: StartCoroutine needs an IEnumerator (call the method) or its name as a string (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.StartCoroutine.html)
using UnityEngine;

using System.Collections;

public class Co : MonoBehaviour
{
    IEnumerator Fade() { yield return null; }
    void Start() { StartCoroutine(Fade); }
}
