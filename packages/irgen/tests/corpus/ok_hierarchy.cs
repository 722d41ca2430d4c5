// expect: compiles
// why: Transform.SetParent, childCount (read), GetChild (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform.html)
using UnityEngine;

public class Parenter : MonoBehaviour
{
    public Transform holder;
    void Start()
    {
        transform.SetParent(holder);
        if (holder.childCount > 0) Debug.Log(holder.GetChild(0).name);
        transform.parent = null;
    }
}
