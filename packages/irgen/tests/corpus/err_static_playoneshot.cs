// expect: CS0120
// why: AudioSource.PlayOneShot is an instance method (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/AudioSource.PlayOneShot.html)
using UnityEngine;

public class Sfx : MonoBehaviour
{
    public AudioClip clip;
    void Start() { AudioSource.PlayOneShot(clip); }
}
