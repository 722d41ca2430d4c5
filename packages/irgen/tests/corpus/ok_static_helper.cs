// expect: compiles
// why: a static utility class next to the MonoBehaviour
using UnityEngine;

public static class Util
{
    public const float Gravity = 9.81f;
    public static float Sq(float x) { return x * x; }
}

public class Faller : MonoBehaviour
{
    float t;
    void Update() { t += Time.deltaTime; transform.position = Vector3.down * 0.5f * Util.Gravity * Util.Sq(t); }
}
