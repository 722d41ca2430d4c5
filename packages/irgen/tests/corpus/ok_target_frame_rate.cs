// expect: compiles
// why: Application.targetFrameRate is read/write (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Application-targetFrameRate.html)
using UnityEngine;

public class FrameCap : MonoBehaviour
{
    void Awake() { Application.targetFrameRate = 60; }
}
