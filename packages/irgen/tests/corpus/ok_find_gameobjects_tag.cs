// expect: compiles
// why: GameObject.FindGameObjectsWithTag returns GameObject[] (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/GameObject.FindGameObjectsWithTag.html)
using UnityEngine;

public class EnemyCount : MonoBehaviour
{
    void Update()
    {
        if (GameObject.FindGameObjectsWithTag("Enemy").Length == 0) Debug.Log("won");
    }
}
