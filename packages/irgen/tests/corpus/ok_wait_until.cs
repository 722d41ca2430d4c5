// expect: compiles
// why: WaitUntil(Func<bool>) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/WaitUntil.html)
using UnityEngine;

using System.Collections;

public class Gate : MonoBehaviour
{
    public bool open;
    IEnumerator Start()
    {
        yield return new WaitUntil(() => open);
        Debug.Log("opened");
    }
}
