// expect: compiles
// why: MonoBehaviour.InvokeRepeating(string, float, float) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/MonoBehaviour.InvokeRepeating.html)
using UnityEngine;

public class Spawner : MonoBehaviour
{
    public GameObject enemy;
    void Start()
    {
        InvokeRepeating("Spawn", 1f, 2f);
    }
    void Spawn()
    {
        Instantiate(enemy, transform.position, Quaternion.identity);
    }
    void OnDisable() { CancelInvoke(); }
}
