// expect: compiles
// why: Instantiate(Object, Vector3, Quaternion) with a Transform field (https://docs.unity3d.com/2021.3/Documentation/ScriptReference/Object.Instantiate.html)
using UnityEngine;

public class Gun : MonoBehaviour
{
    public GameObject bullet;
    public Transform firePoint;
    void Update()
    {
        if (Input.GetButtonDown("Fire1")) Instantiate(bullet, firePoint.position, firePoint.rotation);
    }
}
