// expect: CS0664
// why: a double literal needs the f suffix to become a float (C# spec: literal conversions)
using UnityEngine;

public class Speed : MonoBehaviour
{
    public float speed = 1.5;
}
