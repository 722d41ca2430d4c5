// expect: CS1624
// why: a method with yield return must return IEnumerator
using UnityEngine;

public class Yield : MonoBehaviour
{
    void Start() { yield return new WaitForSeconds(1f); }
}
