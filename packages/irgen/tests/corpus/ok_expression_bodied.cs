// expect: compiles
// why: expression-bodied members are C# 6/7, supported by Unity's compiler
using UnityEngine;

public class Speedy : MonoBehaviour
{
    public float speed = 2f;
    float Double => speed * 2f;
    void Update() => transform.Translate(Vector3.forward * Double * Time.deltaTime);
}
