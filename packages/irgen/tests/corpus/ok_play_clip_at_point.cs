// expect: compiles
// why: AudioSource.PlayClipAtPoint(AudioClip, Vector3) is static (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/AudioSource.PlayClipAtPoint.html)
using UnityEngine;

public class Coin : MonoBehaviour
{
    public AudioClip jingle;
    void OnTriggerEnter(Collider other)
    {
        AudioSource.PlayClipAtPoint(jingle, transform.position);
        Destroy(gameObject);
    }
}
