// expect: EMPTY
// why: a using directive alone declares no class
using UnityEngine;
