// expect: EMPTY
// why: a file that is only a comment declares no class; it is not a script
// class Foo : MonoBehaviour { }
