// expect: CS0200
// why: AudioSource.isPlaying is read-only (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/AudioSource-isPlaying.html)
using UnityEngine;

public class Mute : MonoBehaviour
{
    void Update()
    {
        GetComponent<AudioSource>().isPlaying = false;
    }
}
