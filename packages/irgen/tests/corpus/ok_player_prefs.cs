// expect: compiles
// why: PlayerPrefs.SetInt/GetInt (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/PlayerPrefs.html)
using UnityEngine;

public class HighScore : MonoBehaviour
{
    public int score;
    void OnDestroy()
    {
        if (score > PlayerPrefs.GetInt("best", 0)) PlayerPrefs.SetInt("best", score);
    }
}
