// expect: compiles
// why: WaitForEndOfFrame is a YieldInstruction (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/WaitForEndOfFrame.html)
using UnityEngine;

using System.Collections;

public class Screenshot : MonoBehaviour
{
    IEnumerator Capture()
    {
        yield return new WaitForEndOfFrame();
        Debug.Log("frame done");
    }
    void Start() { StartCoroutine(Capture()); }
}
