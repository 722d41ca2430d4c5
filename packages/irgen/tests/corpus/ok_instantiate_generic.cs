// expect: compiles
// why: Instantiate<T> returns T; `as GameObject` also works (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Instantiate.html)
using UnityEngine;

public class Cloner : MonoBehaviour
{
    public GameObject prefab;
    public Rigidbody ball;
    void Start()
    {
        GameObject a = Instantiate(prefab);
        GameObject b = Instantiate(prefab, Vector3.zero, Quaternion.identity) as GameObject;
        Rigidbody r = Instantiate(ball, transform.position, transform.rotation);
        r.velocity = transform.forward * 10f;
        Debug.Log(a.name + b.name);
    }
}
