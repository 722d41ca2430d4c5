// expect: CS0246
// why: Spinner is not defined in this file (the corpus also has a file declaring Spinner: isolation test)
using UnityEngine;

public class UsesSpinner : MonoBehaviour
{
    void Start() { GetComponent<Spinner>().enabled = false; }
}
