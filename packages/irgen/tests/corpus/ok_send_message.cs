// expect: compiles
// why: Component.SendMessage(string, object) (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Component.SendMessage.html)
using UnityEngine;

public class Damager : MonoBehaviour
{
    void OnTriggerEnter(Collider other)
    {
        other.SendMessage("ApplyDamage", 5, SendMessageOptions.DontRequireReceiver);
    }
}
