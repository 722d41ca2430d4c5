// expect: compiles
// why: WaitForSecondsRealtime (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/WaitForSecondsRealtime.html)
using UnityEngine;

using System.Collections;

public class RealTimer : MonoBehaviour
{
    IEnumerator Start()
    {
        yield return new WaitForSecondsRealtime(2f);
        Time.timeScale = 1f;
    }
}
