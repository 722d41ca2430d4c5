// expect: CS0246
// why: Player is not defined in this file (each script is compiled on its own here)
using UnityEngine;

public class Follow : MonoBehaviour
{
    Player player;
    void Start() { player = FindObjectOfType<Player>(); }
}
