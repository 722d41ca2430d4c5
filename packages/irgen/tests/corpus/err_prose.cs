// expect: EMPTY
// why: plain text declares no class; it is not a script
using UnityEngine;

this is not C# at all, just a sentence.
