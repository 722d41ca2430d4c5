// expect: compiles
// why: AudioClip.length is a read-only float (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/AudioClip-length.html)
using UnityEngine;

public class Announcer : MonoBehaviour
{
    public AudioClip line;
    void Start() { Destroy(gameObject, line.length); }
}
