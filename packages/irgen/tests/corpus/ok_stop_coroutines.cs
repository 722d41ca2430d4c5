// expect: compiles
// why: StopCoroutine(Coroutine) and StopAllCoroutines() (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.StopCoroutine.html)
using UnityEngine;

using System.Collections;

public class Worker : MonoBehaviour
{
    Coroutine job;
    void Start() { job = StartCoroutine(Work()); }
    IEnumerator Work() { while (true) { yield return null; } }
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.S)) StopCoroutine(job);
        if (Input.GetKeyDown(KeyCode.X)) StopAllCoroutines();
    }
}
