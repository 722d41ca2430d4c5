// expect: CS0246
// why: IEnumerator lives in System.Collections, which is not imported
using UnityEngine;

public class NoUsing : MonoBehaviour
{
    IEnumerator Wait() { yield return new WaitForSeconds(1f); }
}
