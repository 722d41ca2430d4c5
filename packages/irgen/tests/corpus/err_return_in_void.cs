// expect: CS0127
// why: Update returns void
using UnityEngine;

public class Ret : MonoBehaviour
{
    void Update()
    {
        return 5;
    }
}
