// expect: compiles
// why: System.Collections.Generic and System.Linq are available to Unity scripts (.NET Standard 2.1 profile)
using UnityEngine;

using System.Collections.Generic;
using System.Linq;

public class Squad : MonoBehaviour
{
    public List<GameObject> members = new List<GameObject>();
    void Start()
    {
        int alive = members.Count(m => m != null);
        Debug.Log(alive);
    }
}
