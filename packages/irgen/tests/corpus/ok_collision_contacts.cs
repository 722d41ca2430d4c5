// expect: compiles
// why: Collision.contacts is ContactPoint[] (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Collision-contacts.html)
using UnityEngine;

public class Sparks : MonoBehaviour
{
    public GameObject spark;
    void OnCollisionEnter(Collision collision)
    {
        ContactPoint contact = collision.contacts[0];
        Instantiate(spark, contact.point, Quaternion.LookRotation(contact.normal));
    }
}
