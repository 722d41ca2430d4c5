// expect: newer
// why: using declarations are C# 8
using UnityEngine;

using System.IO;

public class Saver : MonoBehaviour
{
    void Start()
    {
        using var s = new MemoryStream();
        s.WriteByte(1);
    }
}
