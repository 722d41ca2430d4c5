// expect: compiles
// why: Transform.position is read/write; += assigns the property (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Transform-position.html)
using UnityEngine;

public class Riser : MonoBehaviour
{
    void Update()
    {
        transform.position += Vector3.up * Time.deltaTime;
    }
}
