// expect: compiles
// why: AudioSource.PlayOneShot(AudioClip) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/AudioSource.PlayOneShot.html)
using UnityEngine;

[RequireComponent(typeof(AudioSource))]
public class Beeper : MonoBehaviour
{
    public AudioClip clip;
    void OnCollisionEnter(Collision c)
    {
        GetComponent<AudioSource>().PlayOneShot(clip, 0.7f);
    }
}
