// expect: compiles
// why: Collision.gameObject (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collision-gameObject.html)
using UnityEngine;

public class Bumper : MonoBehaviour
{
    void OnCollisionEnter(Collision collision)
    {
        Debug.Log("hit " + collision.gameObject.name);
    }
}
