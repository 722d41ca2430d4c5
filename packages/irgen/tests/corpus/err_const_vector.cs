// expect: CS0283
// why: a struct type like Vector3 cannot be const; use static readonly
using UnityEngine;

public class Consts : MonoBehaviour
{
    const Vector3 Offset = new Vector3(1f, 0f, 0f);
}
