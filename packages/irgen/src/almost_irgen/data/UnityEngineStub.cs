// A compile-only stub of the UnityEngine API surface that generated scripts use.
// Built once with mcs into UnityEngine.dll; method bodies do nothing.
using System;
using System.Collections;

namespace UnityEngine
{
    public class Object
    {
        public string name;
        public static void Destroy(Object obj) { }
        public static void Destroy(Object obj, float t) { }
        public static void DontDestroyOnLoad(Object target) { }
        public static T Instantiate<T>(T original) where T : Object { return original; }
        public static Object Instantiate(Object original) { return original; }
        public static Object Instantiate(Object original, Vector3 position, Quaternion rotation) { return original; }
        public static T Instantiate<T>(T original, Vector3 position, Quaternion rotation) where T : Object { return original; }
        public static Object Instantiate(Object original, Transform parent) { return original; }
        public static T FindObjectOfType<T>() where T : Object { return null; }
        public static implicit operator bool(Object exists) { return exists != null; }
    }

    public class Component : Object
    {
        public GameObject gameObject;
        public Transform transform;
        public string tag;
        public T GetComponent<T>() { return default(T); }
        public Component GetComponent(Type type) { return null; }
        public T GetComponentInChildren<T>() { return default(T); }
        public T[] GetComponents<T>() { return null; }
        public bool TryGetComponent<T>(out T component) { component = default(T); return false; }
        public bool CompareTag(string tag) { return false; }
        public void SendMessage(string methodName) { }
    }

    public class Behaviour : Component { public bool enabled; public bool isActiveAndEnabled; }

    public class MonoBehaviour : Behaviour
    {
        public Coroutine StartCoroutine(IEnumerator routine) { return null; }
        public void StopCoroutine(Coroutine routine) { }
        public void StopAllCoroutines() { }
        public void Invoke(string methodName, float time) { }
        public void InvokeRepeating(string methodName, float time, float repeatRate) { }
        public void CancelInvoke() { }
        public static void print(object message) { }
    }

    public sealed class Coroutine { }
    public class YieldInstruction { }
    public sealed class WaitForSeconds : YieldInstruction { public WaitForSeconds(float seconds) { } }
    public sealed class WaitForFixedUpdate : YieldInstruction { }

    public sealed class GameObject : Object
    {
        public GameObject() { }
        public GameObject(string name) { }
        public Transform transform;
        public GameObject gameObject { get { return this; } }
        public string tag;
        public int layer;
        public bool activeSelf;
        public bool activeInHierarchy;
        public void SetActive(bool value) { }
        public T GetComponent<T>() { return default(T); }
        public T AddComponent<T>() where T : Component { return null; }
        public bool CompareTag(string tag) { return false; }
        public static GameObject Find(string name) { return null; }
        public static GameObject FindWithTag(string tag) { return null; }
        public static GameObject[] FindGameObjectsWithTag(string tag) { return null; }
    }

    public class Transform : Component, IEnumerable
    {
        public Vector3 position;
        public Vector3 localPosition;
        public Vector3 eulerAngles;
        public Vector3 localEulerAngles;
        public Vector3 localScale;
        public Quaternion rotation;
        public Quaternion localRotation;
        public Vector3 forward;
        public Vector3 right;
        public Vector3 up;
        public Transform parent;
        public int childCount;
        public void Rotate(Vector3 eulers) { }
        public void Rotate(Vector3 eulers, Space relativeTo) { }
        public void Rotate(float x, float y, float z) { }
        public void Rotate(Vector3 axis, float angle) { }
        public void Rotate(Vector3 axis, float angle, Space relativeTo) { }
        public void RotateAround(Vector3 point, Vector3 axis, float angle) { }
        public void Translate(Vector3 translation) { }
        public void Translate(Vector3 translation, Space relativeTo) { }
        public void Translate(float x, float y, float z) { }
        public void LookAt(Transform target) { }
        public void LookAt(Vector3 worldPosition) { }
        public void SetParent(Transform parent) { }
        public Transform GetChild(int index) { return null; }
        public Transform Find(string name) { return null; }
        public IEnumerator GetEnumerator() { return null; }
    }

    public enum Space { World, Self }
    public enum ForceMode { Force, Acceleration, Impulse, VelocityChange }
    public enum ForceMode2D { Force, Impulse }
    public enum KeyCode { None, Space, Return, Escape, W, A, S, D, E, Q, LeftShift, Mouse0, UpArrow, DownArrow, LeftArrow, RightArrow }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public Vector3(float x, float y) { this.x = x; this.y = y; this.z = 0f; }
        public static Vector3 zero { get { return new Vector3(0f, 0f, 0f); } }
        public static Vector3 one { get { return new Vector3(1f, 1f, 1f); } }
        public static Vector3 up { get { return new Vector3(0f, 1f, 0f); } }
        public static Vector3 down { get { return new Vector3(0f, -1f, 0f); } }
        public static Vector3 left { get { return new Vector3(-1f, 0f, 0f); } }
        public static Vector3 right { get { return new Vector3(1f, 0f, 0f); } }
        public static Vector3 forward { get { return new Vector3(0f, 0f, 1f); } }
        public static Vector3 back { get { return new Vector3(0f, 0f, -1f); } }
        public float magnitude { get { return 0f; } }
        public float sqrMagnitude { get { return 0f; } }
        public Vector3 normalized { get { return this; } }
        public static float Distance(Vector3 a, Vector3 b) { return 0f; }
        public static float Dot(Vector3 a, Vector3 b) { return 0f; }
        public static Vector3 Cross(Vector3 a, Vector3 b) { return a; }
        public static Vector3 Lerp(Vector3 a, Vector3 b, float t) { return a; }
        public static Vector3 MoveTowards(Vector3 current, Vector3 target, float maxDistanceDelta) { return current; }
        public static Vector3 operator +(Vector3 a, Vector3 b) { return a; }
        public static Vector3 operator -(Vector3 a, Vector3 b) { return a; }
        public static Vector3 operator -(Vector3 a) { return a; }
        public static Vector3 operator *(Vector3 a, float d) { return a; }
        public static Vector3 operator *(float d, Vector3 a) { return a; }
        public static Vector3 operator /(Vector3 a, float d) { return a; }
        public static bool operator ==(Vector3 a, Vector3 b) { return true; }
        public static bool operator !=(Vector3 a, Vector3 b) { return false; }
        public override bool Equals(object other) { return false; }
        public override int GetHashCode() { return 0; }
    }

    public struct Vector2
    {
        public float x, y;
        public Vector2(float x, float y) { this.x = x; this.y = y; }
        public static Vector2 zero { get { return new Vector2(0f, 0f); } }
        public static Vector2 up { get { return new Vector2(0f, 1f); } }
        public static Vector2 operator *(Vector2 a, float d) { return a; }
        public static Vector2 operator +(Vector2 a, Vector2 b) { return a; }
    }

    public struct Quaternion
    {
        public float x, y, z, w;
        public static Quaternion identity { get { return new Quaternion(); } }
        public Vector3 eulerAngles;
        public static Quaternion Euler(float x, float y, float z) { return identity; }
        public static Quaternion Euler(Vector3 euler) { return identity; }
        public static Quaternion AngleAxis(float angle, Vector3 axis) { return identity; }
        public static Quaternion LookRotation(Vector3 forward) { return identity; }
        public static Quaternion Slerp(Quaternion a, Quaternion b, float t) { return a; }
        public static Quaternion operator *(Quaternion a, Quaternion b) { return a; }
        public static Vector3 operator *(Quaternion rotation, Vector3 point) { return point; }
    }

    public struct Color
    {
        public float r, g, b, a;
        public Color(float r, float g, float b) { this.r = r; this.g = g; this.b = b; this.a = 1f; }
        public Color(float r, float g, float b, float a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public static Color red { get { return new Color(1f, 0f, 0f); } }
        public static Color green { get { return new Color(0f, 1f, 0f); } }
        public static Color blue { get { return new Color(0f, 0f, 1f); } }
        public static Color white { get { return new Color(1f, 1f, 1f); } }
        public static Color black { get { return new Color(0f, 0f, 0f); } }
        public static Color Lerp(Color a, Color b, float t) { return a; }
    }

    public static class Time
    {
        public static float deltaTime;
        public static float fixedDeltaTime;
        public static float time;
        public static float timeScale;
        public static int frameCount;
    }

    public static class Debug
    {
        public static void Log(object message) { }
        public static void Log(object message, Object context) { }
        public static void LogWarning(object message) { }
        public static void LogError(object message) { }
        public static void DrawLine(Vector3 start, Vector3 end) { }
    }

    public static class Input
    {
        public static bool GetKey(KeyCode key) { return false; }
        public static bool GetKeyDown(KeyCode key) { return false; }
        public static bool GetKeyUp(KeyCode key) { return false; }
        public static bool GetKey(string name) { return false; }
        public static bool GetKeyDown(string name) { return false; }
        public static bool GetButton(string name) { return false; }
        public static bool GetButtonDown(string name) { return false; }
        public static bool GetMouseButtonDown(int button) { return false; }
        public static float GetAxis(string axisName) { return 0f; }
        public static float GetAxisRaw(string axisName) { return 0f; }
        public static Vector3 mousePosition;
    }

    public static class Mathf
    {
        public const float PI = 3.14159274f;
        public static float Sin(float f) { return 0f; }
        public static float Cos(float f) { return 0f; }
        public static float Abs(float f) { return f; }
        public static float Clamp(float value, float min, float max) { return value; }
        public static int Clamp(int value, int min, int max) { return value; }
        public static float Clamp01(float value) { return value; }
        public static float Lerp(float a, float b, float t) { return a; }
        public static float Min(float a, float b) { return a; }
        public static float Max(float a, float b) { return a; }
        public static float PingPong(float t, float length) { return t; }
        public static float Sqrt(float f) { return f; }
        public static int RoundToInt(float f) { return 0; }
        public static int FloorToInt(float f) { return 0; }
    }

    public static class Random
    {
        public static float value;
        public static float Range(float min, float max) { return min; }
        public static int Range(int min, int max) { return min; }
    }

    public class Collider : Component { public bool isTrigger; public bool enabled; }
    public class BoxCollider : Collider { }
    public class SphereCollider : Collider { }
    public class Collider2D : Component { }

    public class Collision
    {
        public GameObject gameObject;
        public Collider collider;
        public Transform transform;
        public Rigidbody rigidbody;
        public Vector3 relativeVelocity;
    }

    public class Collision2D { public GameObject gameObject; }

    public class Rigidbody : Component
    {
        public Vector3 velocity;
        public Vector3 angularVelocity;
        public float mass;
        public bool useGravity;
        public bool isKinematic;
        public void AddForce(Vector3 force) { }
        public void AddForce(Vector3 force, ForceMode mode) { }
        public void AddForce(float x, float y, float z) { }
        public void AddTorque(Vector3 torque) { }
        public void AddTorque(Vector3 torque, ForceMode mode) { }
        public void AddRelativeForce(Vector3 force) { }
        public void MovePosition(Vector3 position) { }
        public void MoveRotation(Quaternion rot) { }
    }

    public class Rigidbody2D : Component
    {
        public Vector2 velocity;
        public void AddForce(Vector2 force) { }
        public void AddForce(Vector2 force, ForceMode2D mode) { }
    }

    public class AudioClip : Object { public float length; }

    public class AudioSource : Behaviour
    {
        public AudioClip clip;
        public float volume;
        public float pitch;
        public bool loop;
        public bool isPlaying;
        public void Play() { }
        public void Stop() { }
        public void Pause() { }
        public void PlayOneShot(AudioClip clip) { }
        public void PlayOneShot(AudioClip clip, float volumeScale) { }
        public static void PlayClipAtPoint(AudioClip clip, Vector3 position) { }
    }

    public class Material : Object { public Color color; }
    public class Renderer : Component { public Material material; public bool enabled; }
    public class MeshRenderer : Renderer { }
    public class SpriteRenderer : Renderer { public Color color; }
    public class Light : Behaviour { public Color color; public float intensity; public float range; }
    public class Animator : Behaviour
    {
        public void SetTrigger(string name) { }
        public void SetBool(string name, bool value) { }
        public void SetFloat(string name, float value) { }
        public void SetInteger(string name, int value) { }
        public void Play(string stateName) { }
    }
    public class Camera : Behaviour { public static Camera main; }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute
    {
        public RequireComponent(Type requiredComponent) { }
        public RequireComponent(Type requiredComponent, Type requiredComponent2) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class HeaderAttribute : Attribute { public HeaderAttribute(string header) { } }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class RangeAttribute : Attribute { public RangeAttribute(float min, float max) { } }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TooltipAttribute : Attribute { public TooltipAttribute(string tooltip) { } }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }
}
