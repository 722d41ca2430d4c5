// expect: compiles
// why: SerializeField, Header, Range, Tooltip attributes (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/SerializeField.html)
using UnityEngine;

public class Tuned : MonoBehaviour
{
    [Header("Movement")]
    [SerializeField] private float speed = 5f;
    [Range(0, 10)] public int lives = 3;
    [Tooltip("seconds")] public float delay = 1f;
    [HideInInspector] public bool ready;
    [Space(10)] public string label = "x";
    void Update() { transform.Translate(0f, 0f, speed * Time.deltaTime); }
}
