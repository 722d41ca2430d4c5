// expect: compiles
// why: a file may declare several types (an interface, a serializable class)
using UnityEngine;

public interface IDamageable { void Damage(int amount); }

[System.Serializable]
public class Wave { public int count; public float delay; }

public class Target : MonoBehaviour, IDamageable
{
    public Wave[] waves;
    public int hp = 10;
    public void Damage(int amount) { hp -= amount; if (hp <= 0) Destroy(gameObject); }
}
