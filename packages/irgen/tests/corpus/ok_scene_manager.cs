// expect: compiles
// why: SceneManager.LoadScene(int) and GetActiveScene().buildIndex (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/SceneManagement.SceneManager.LoadScene.html)
using UnityEngine;

using UnityEngine.SceneManagement;

public class Restarter : MonoBehaviour
{
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.R)) SceneManager.LoadScene(SceneManager.GetActiveScene().buildIndex);
    }
}
