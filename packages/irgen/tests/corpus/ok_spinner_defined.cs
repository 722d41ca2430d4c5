// expect: compiles
// why: a MonoBehaviour named Spinner (other corpus files must not see it)
using UnityEngine;

public class Spinner : MonoBehaviour
{
    public float speed = 90f;
    void Update() { transform.Rotate(0f, speed * Time.deltaTime, 0f); }
}
