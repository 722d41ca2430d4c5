// expect: compiles
// why: ParticleSystem.Play/Stop (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/ParticleSystem.html)
using UnityEngine;

public class Smoke : MonoBehaviour
{
    public ParticleSystem smoke;
    void Update()
    {
        if (Input.GetKeyDown(KeyCode.E)) smoke.Play();
        if (Input.GetKeyUp(KeyCode.E)) smoke.Stop();
    }
}
