// expect: compiles
// why: Start can be a coroutine (IEnumerator Start) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.Start.html)
using UnityEngine;

using System.Collections;

public class DelayedHello : MonoBehaviour
{
    IEnumerator Start()
    {
        yield return new WaitForSeconds(1f);
        Debug.Log("hello");
    }
}
