// expect: compiles
// why: the ?. operator compiles on UnityEngine.Object types (C# 6)
using UnityEngine;

public class MaybePlay : MonoBehaviour
{
    void Start() { GetComponent<AudioSource>()?.Play(); }
}
