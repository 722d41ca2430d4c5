// expect: CS1513
// why: the class is not closed
using UnityEngine;

public class Open : MonoBehaviour
{
    void Start() { Debug.Log("x"); }

