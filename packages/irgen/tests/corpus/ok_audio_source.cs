// expect: compiles
// why: AudioSource.clip/volume/pitch/isPlaying/Play/Stop (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/AudioSource.html)
using UnityEngine;

public class Music : MonoBehaviour
{
    public AudioClip song;
    AudioSource src;
    void Start()
    {
        src = GetComponent<AudioSource>();
        src.clip = song;
        src.volume = 0.5f;
        src.pitch = 1.2f;
        if (!src.isPlaying) src.Play();
    }
    void OnDisable() { src.Stop(); }
}
