// expect: compiles
// why: a nested enum and a switch statement (C# 1)
using UnityEngine;

public class Guard : MonoBehaviour
{
    enum State { Idle, Chase, Flee }
    State state = State.Idle;
    void Update()
    {
        switch (state)
        {
            case State.Idle: if (Input.GetKey(KeyCode.C)) state = State.Chase; break;
            case State.Chase: transform.Translate(Vector3.forward * Time.deltaTime); break;
            default: break;
        }
    }
}
