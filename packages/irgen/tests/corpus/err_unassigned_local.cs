// expect: CS0165
// why: count is used before it is assigned
using UnityEngine;

public class Uninit : MonoBehaviour
{
    void Start()
    {
        int count; count++; Debug.Log(count);
    }
}
