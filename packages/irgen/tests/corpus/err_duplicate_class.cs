// expect: CS0101
// why: the namespace already contains a definition for Twice
using UnityEngine;

public class Twice : MonoBehaviour { }
public class Twice : MonoBehaviour { }
