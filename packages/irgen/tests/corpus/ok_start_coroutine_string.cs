// expect: compiles
// why: MonoBehaviour.StartCoroutine(string methodName) is an overload (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.StartCoroutine.html)
using UnityEngine;

using System.Collections;

public class Blinker : MonoBehaviour
{
    void Start()
    {
        StartCoroutine("Blink");
    }

    IEnumerator Blink()
    {
        while (true)
        {
            GetComponent<Renderer>().enabled = !GetComponent<Renderer>().enabled;
            yield return new WaitForSeconds(0.5f);
        }
    }
}
