// UnityEngine as scripts see it: the API surface of Unity 2021+ for the scripts people write,
// with working semantics so the same assembly serves two purposes:
//  * compile check: generated C# is compiled against it (read-only properties are read-only,
//    struct properties return copies, overloads are Unity's), so mcs gives the errors Unity's
//    compiler gives (CS1612, CS0200, CS1061 ...);
//  * behaviour check: AlmostSim.Runner drives a MonoBehaviour through simulated frames
//    (Transform maths, Rigidbody-lite, Time, scripted Input, trigger/collision calls,
//    Destroy/Instantiate, coroutines, Invoke) and writes what it observed as JSON.
// Not simulated: rendering, audio output, real collision detection (physics queries return
// nothing), gravity. Rigidbody-lite: forces change velocity, velocity moves the body.
// The surface was grown from packages/irgen/tests/corpus (see its README).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace UnityEngine
{
    // ------------------------------------------------------------------ the simulated world
    internal static partial class Sim
    {
        internal static float deltaTime = 0.02f, fixedDeltaTime = 0.02f, time, fixedTime, unscaledTime, timeScale = 1f;
        internal static int frame;
        internal static bool inFixed;
        internal static List<GameObject> world = new List<GameObject>();
        internal static List<string> events = new List<string>();
        internal static HashSet<KeyCode> held = new HashSet<KeyCode>(), down = new HashSet<KeyCode>(), up = new HashSet<KeyCode>();
        internal static List<Pending> pending = new List<Pending>();
        internal static List<Routine> routines = new List<Routine>();
        internal static List<Invocation> invokes = new List<Invocation>();
        internal static System.Random rng = new System.Random(0);
        internal static int nextId = 1;

        internal struct Pending { public Object obj; public float due; }

        internal static void Reset(float dt, float fixedDt)
        {
            deltaTime = dt; fixedDeltaTime = fixedDt; time = 0f; fixedTime = 0f; unscaledTime = 0f; timeScale = 1f; frame = 0;
            world.Clear(); events.Clear(); held.Clear(); down.Clear(); up.Clear(); pending.Clear();
            routines.Clear(); invokes.Clear(); rng = new System.Random(0); nextId = 1;
        }

        internal static void Event(string kind, string detail)
        {
            events.Add("[" + frame + "," + Json.Str(kind) + "," + Json.Str(detail) + "]");
        }

        internal static string Name(Object o) { return o == null ? "null" : o.name; }
    }

    internal static class Json
    {
        internal static string Str(string s)
        {
            if (s == null) return "null";
            var b = new StringBuilder("\"");
            foreach (char c in s)
            {
                if (c == '"' || c == '\\') b.Append('\\').Append(c);
                else if (c < ' ') b.Append("\\u").Append(((int)c).ToString("x4"));
                else b.Append(c);
            }
            return b.Append('"').ToString();
        }
        internal static string Num(double v)
        {
            if (double.IsNaN(v) || double.IsInfinity(v)) return "null";
            return v.ToString("R", CultureInfo.InvariantCulture);
        }
    }

    // ------------------------------------------------------------------ objects
    public class Object
    {
        internal string m_Name = "";
        internal bool m_Destroyed;
        internal int m_Id;
        public Object() { m_Id = Sim.nextId++; }
        public string name { get { return m_Name; } set { m_Name = value; } }
        public HideFlags hideFlags { get; set; }
        public int GetInstanceID() { return m_Id; }
        public override string ToString() { return m_Name + " (" + GetType().FullName + ")"; }
        public override bool Equals(object other) { return ReferenceEquals(this, other) || (other == null && m_Destroyed); }
        public override int GetHashCode() { return m_Id; }
        static bool IsNull(Object o) { return ReferenceEquals(o, null) || o.m_Destroyed; }
        public static bool operator ==(Object x, Object y)
        {
            bool xn = IsNull(x), yn = IsNull(y);
            if (xn || yn) return xn && yn;
            return ReferenceEquals(x, y);
        }
        public static bool operator !=(Object x, Object y) { return !(x == y); }
        public static implicit operator bool(Object exists) { return !IsNull(exists); }

        public static void Destroy(Object obj) { Destroy(obj, 0f); }
        public static void Destroy(Object obj, float t)
        {
            if (IsNull(obj)) return;
            Sim.pending.Add(new Sim.Pending { obj = obj, due = Sim.time + t });
        }
        public static void DestroyImmediate(Object obj) { if (!IsNull(obj)) obj.DoDestroy(); }
        public static void DontDestroyOnLoad(Object target) { }
        internal virtual void DoDestroy() { m_Destroyed = true; }

        internal static Object CloneOf(Object original, Vector3? pos, Quaternion? rot, Transform parent)
        {
            if (IsNull(original)) throw new ArgumentException("The Object you want to instantiate is null.");
            GameObject go = original as GameObject;
            Component comp = original as Component;
            if (go == null && comp != null) go = comp.gameObject;
            if (go == null) { Sim.Event("spawn", original.name); return original; }
            Sim.Event("spawn", go.name);
            var clone = new GameObject(go.name + "(Clone)");
            clone.tag = go.tag;
            clone.layer = go.layer;
            clone.transform.localScale = go.transform.localScale;
            if (parent != null) clone.transform.SetParent(parent, false);
            clone.transform.position = pos ?? go.transform.position;
            clone.transform.rotation = rot ?? go.transform.rotation;
            if (!go.activeSelf) clone.m_Active = false;  // a copy of an inactive object is inactive (no event)
            if (comp != null)
            {
                foreach (var c in clone.m_Components) if (c.GetType() == comp.GetType()) return c;
                return clone.AddComponent(comp.GetType());
            }
            return clone;
        }
        public static Object Instantiate(Object original) { return CloneOf(original, null, null, null); }
        public static Object Instantiate(Object original, Transform parent) { return CloneOf(original, null, null, parent); }
        public static Object Instantiate(Object original, Transform parent, bool instantiateInWorldSpace) { return CloneOf(original, null, null, parent); }
        public static Object Instantiate(Object original, Vector3 position, Quaternion rotation) { return CloneOf(original, position, rotation, null); }
        public static Object Instantiate(Object original, Vector3 position, Quaternion rotation, Transform parent) { return CloneOf(original, position, rotation, parent); }
        public static T Instantiate<T>(T original) where T : Object { return (T)CloneOf(original, null, null, null); }
        public static T Instantiate<T>(T original, Transform parent) where T : Object { return (T)CloneOf(original, null, null, parent); }
        public static T Instantiate<T>(T original, Transform parent, bool worldPositionStays) where T : Object { return (T)CloneOf(original, null, null, parent); }
        public static T Instantiate<T>(T original, Vector3 position, Quaternion rotation) where T : Object { return (T)CloneOf(original, position, rotation, null); }
        public static T Instantiate<T>(T original, Vector3 position, Quaternion rotation, Transform parent) where T : Object { return (T)CloneOf(original, position, rotation, parent); }

        public static T FindObjectOfType<T>() where T : Object
        {
            foreach (var o in FindObjectsOfType<T>()) return o;
            return null;
        }
        public static T[] FindObjectsOfType<T>() where T : Object
        {
            var found = new List<T>();
            foreach (var g in Sim.world.ToArray())
            {
                if (!g.activeInHierarchy) continue;
                if (g is T) found.Add(g as T);
                foreach (var c in g.m_Components) if (c is T) found.Add(c as T);
            }
            return found.ToArray();
        }
        public static Object FindObjectOfType(Type type)
        {
            foreach (var g in Sim.world) { if (type.IsInstanceOfType(g)) return g; foreach (var c in g.m_Components) if (type.IsInstanceOfType(c)) return c; }
            return null;
        }
    }

    public enum HideFlags { None = 0, HideInHierarchy = 1, HideInInspector = 2, DontSaveInEditor = 4, NotEditable = 8, DontSaveInBuild = 16, DontUnloadUnusedAsset = 32, DontSave = 52, HideAndDontSave = 61 }

    public class Component : Object
    {
        internal GameObject m_GameObject;
        public GameObject gameObject { get { return m_GameObject; } }
        public Transform transform { get { return m_GameObject.transform; } }
        public string tag { get { return m_GameObject.tag; } set { m_GameObject.tag = value; } }
        public new string name { get { return m_GameObject.name; } set { m_GameObject.name = value; } }
        public T GetComponent<T>() { return m_GameObject.GetComponent<T>(); }
        public Component GetComponent(Type type) { return m_GameObject.GetComponent(type); }
        public Component GetComponent(string type) { return m_GameObject.GetComponent(type); }
        public T GetComponentInChildren<T>() { return m_GameObject.GetComponentInChildren<T>(); }
        public T GetComponentInChildren<T>(bool includeInactive) { return m_GameObject.GetComponentInChildren<T>(); }
        public T GetComponentInParent<T>() { return m_GameObject.GetComponentInParent<T>(); }
        public T[] GetComponents<T>() { return m_GameObject.GetComponents<T>(); }
        public T[] GetComponentsInChildren<T>() { return m_GameObject.GetComponentsInChildren<T>(); }
        public T[] GetComponentsInChildren<T>(bool includeInactive) { return m_GameObject.GetComponentsInChildren<T>(); }
        public bool TryGetComponent<T>(out T component) { return m_GameObject.TryGetComponent<T>(out component); }
        public bool CompareTag(string tag) { return m_GameObject.CompareTag(tag); }
        public void SendMessage(string methodName) { m_GameObject.SendMessage(methodName); }
        public void SendMessage(string methodName, object value) { m_GameObject.SendMessage(methodName, value); }
        public void SendMessage(string methodName, SendMessageOptions options) { m_GameObject.SendMessage(methodName, null, options); }
        public void SendMessage(string methodName, object value, SendMessageOptions options) { m_GameObject.SendMessage(methodName, value, options); }
        public void BroadcastMessage(string methodName) { m_GameObject.SendMessage(methodName); }
        public void BroadcastMessage(string methodName, object parameter) { m_GameObject.SendMessage(methodName, parameter); }
        internal override void DoDestroy()
        {
            if (m_Destroyed) return;
            var b = this as Behaviour;
            if (b != null && b.isActiveAndEnabled) Sim.Call(b, "OnDisable");
            if (b != null) Sim.Call(b, "OnDestroy");
            m_Destroyed = true;
            if (m_GameObject != null) m_GameObject.m_Components.Remove(this);
            if (this is Transform) return;
            if (m_GameObject != null && !m_GameObject.m_Destroying) Sim.Event("destroy_component", GetType().Name + " of " + m_GameObject.name);
        }
    }

    public enum SendMessageOptions { RequireReceiver, DontRequireReceiver }

    public class Behaviour : Component
    {
        internal bool m_Enabled = true, m_Awoken;
        public bool enabled
        {
            get { return m_Enabled; }
            set
            {
                if (m_Enabled == value) return;
                m_Enabled = value;
                if (m_GameObject != null && m_GameObject.activeInHierarchy) Sim.Call(this, value ? "OnEnable" : "OnDisable");
            }
        }
        public bool isActiveAndEnabled { get { return m_Enabled && m_GameObject != null && m_GameObject.activeInHierarchy && !m_Destroyed; } }
    }

    public class MonoBehaviour : Behaviour
    {
        internal bool m_Started;
        public bool useGUILayout { get; set; }
        public bool runInEditMode { get; set; }
        public Coroutine StartCoroutine(IEnumerator routine)
        {
            if (routine == null) throw new NullReferenceException("routine is null");
            var r = new Routine { owner = this, body = routine, handle = new Coroutine() };
            r.handle.routine = r;
            Sim.routines.Add(r);
            r.Step();  // runs to its first yield now, as Unity does
            return r.handle;
        }
        public Coroutine StartCoroutine(string methodName) { return StartCoroutine(methodName, null); }
        public Coroutine StartCoroutine(string methodName, object value)
        {
            var m = GetType().GetMethod(methodName, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            if (m == null || !typeof(IEnumerator).IsAssignableFrom(m.ReturnType))
            {
                Debug.LogError("Coroutine '" + methodName + "' couldn't be started!");
                return null;
            }
            var r = StartCoroutine((IEnumerator)m.Invoke(this, m.GetParameters().Length == 1 ? new object[] { value } : null));
            r.routine.methodName = methodName;
            return r;
        }
        public void StopCoroutine(IEnumerator routine) { foreach (var r in Sim.routines) if (r.body == routine) r.done = true; }
        public void StopCoroutine(Coroutine routine) { if (routine != null && routine.routine != null) routine.routine.done = true; }
        public void StopCoroutine(string methodName) { foreach (var r in Sim.routines) if (r.owner == this && r.methodName == methodName) r.done = true; }
        public void StopAllCoroutines() { foreach (var r in Sim.routines) if (r.owner == this) r.done = true; }
        public void Invoke(string methodName, float time) { Sim.invokes.Add(new Invocation { owner = this, method = methodName, due = Sim.time + time, rate = -1f }); }
        public void InvokeRepeating(string methodName, float time, float repeatRate) { Sim.invokes.Add(new Invocation { owner = this, method = methodName, due = Sim.time + time, rate = repeatRate }); }
        public void CancelInvoke() { Sim.invokes.RemoveAll(i => i.owner == this); }
        public void CancelInvoke(string methodName) { Sim.invokes.RemoveAll(i => i.owner == this && i.method == methodName); }
        public bool IsInvoking() { return Sim.invokes.Exists(i => i.owner == this); }
        public bool IsInvoking(string methodName) { return Sim.invokes.Exists(i => i.owner == this && i.method == methodName); }
        public static void print(object message) { Debug.Log(message); }
    }

    internal class Invocation { public MonoBehaviour owner; public string method; public float due, rate; }

    internal class Routine
    {
        public MonoBehaviour owner;
        public IEnumerator body;
        public Coroutine handle;
        public string methodName;
        public bool done;
        public object waiting;   // what the last yield returned
        public float until;      // WaitForSeconds
        public bool Ready(string phase)
        {
            if (done) return false;
            var w = waiting;
            if (w == null) return phase == "update";
            if (w is WaitForSeconds) return phase == "update" && Sim.time >= until - 1e-5f;
            if (w is WaitForSecondsRealtime) return phase == "update" && !((WaitForSecondsRealtime)w).keepWaiting;
            if (w is WaitForFixedUpdate) return phase == "fixed";
            if (w is WaitForEndOfFrame) return phase == "end";
            if (w is Coroutine) return phase == "update" && (((Coroutine)w).routine == null || ((Coroutine)w).routine.done);
            if (w is CustomYieldInstruction) return phase == "update" && !((CustomYieldInstruction)w).keepWaiting;
            return phase == "update";
        }
        public void Step()
        {
            if (done) return;
            bool more;
            try { more = body.MoveNext(); }
            catch (Exception e) { Sim.Exception(e); done = true; return; }
            if (!more) { done = true; return; }
            waiting = body.Current;
            if (waiting is WaitForSeconds) until = Sim.time + ((WaitForSeconds)waiting).m_Seconds;
            if (waiting is IEnumerator) waiting = owner.StartCoroutine((IEnumerator)waiting);
        }
    }

    public sealed class Coroutine : YieldInstruction { internal Routine routine; internal Coroutine() { } }
    public class YieldInstruction { }
    public sealed class WaitForSeconds : YieldInstruction { internal float m_Seconds; public WaitForSeconds(float seconds) { m_Seconds = seconds; } }
    public sealed class WaitForFixedUpdate : YieldInstruction { }
    public sealed class WaitForEndOfFrame : YieldInstruction { }
    public abstract class CustomYieldInstruction : IEnumerator
    {
        public abstract bool keepWaiting { get; }
        public object Current { get { return null; } }
        public bool MoveNext() { return keepWaiting; }
        public virtual void Reset() { }
    }
    public class WaitForSecondsRealtime : CustomYieldInstruction
    {
        float m_Until;
        public float waitTime { get; set; }
        public WaitForSecondsRealtime(float time) { waitTime = time; m_Until = Sim.unscaledTime + time; }
        public override bool keepWaiting { get { return Sim.unscaledTime < m_Until - 1e-5f; } }
    }
    public sealed class WaitUntil : CustomYieldInstruction
    {
        Func<bool> m_Predicate;
        public WaitUntil(Func<bool> predicate) { m_Predicate = predicate; }
        public override bool keepWaiting { get { return !m_Predicate(); } }
    }
    public sealed class WaitWhile : CustomYieldInstruction
    {
        Func<bool> m_Predicate;
        public WaitWhile(Func<bool> predicate) { m_Predicate = predicate; }
        public override bool keepWaiting { get { return m_Predicate(); } }
    }

    public sealed class GameObject : Object
    {
        internal List<Component> m_Components = new List<Component>();
        internal Transform m_Transform;
        internal bool m_Active = true, m_Destroying;
        internal string m_Tag = "Untagged";
        public GameObject() : this("New Game Object") { }
        public GameObject(string name) : this(name, new Type[0]) { }
        public GameObject(string name, params Type[] components)
        {
            m_Name = name;
            m_Transform = new Transform();
            m_Transform.m_GameObject = this;
            m_Components.Add(m_Transform);
            Sim.world.Add(this);
            foreach (var t in components) AddComponent(t);
        }
        public Transform transform { get { return m_Transform; } }
        public GameObject gameObject { get { return this; } }
        public string tag { get { return m_Tag; } set { m_Tag = value; } }
        public int layer { get; set; }
        public bool isStatic { get; set; }
        public bool activeSelf { get { return m_Active; } }
        public bool activeInHierarchy
        {
            get
            {
                if (!m_Active || m_Destroyed) return false;
                var p = m_Transform.m_Parent;
                return p == null || p.gameObject.activeInHierarchy;
            }
        }
        public void SetActive(bool value)
        {
            Sim.Event("set_active", m_Name + "=" + (value ? "true" : "false"));
            if (m_Active == value) return;
            bool was = activeInHierarchy;
            m_Active = value;
            if (was == activeInHierarchy) return;
            foreach (var c in m_Components.ToArray())
            {
                var b = c as Behaviour;
                if (b == null || !b.m_Enabled) continue;
                if (value) { Sim.AwakeOnce(b); Sim.Call(b, "OnEnable"); }
                else Sim.Call(b, "OnDisable");
            }
        }
        public T GetComponent<T>()
        {
            foreach (var c in m_Components) if (c is T) return (T)(object)c;
            return default(T);
        }
        public Component GetComponent(Type type)
        {
            foreach (var c in m_Components) if (type.IsInstanceOfType(c)) return c;
            return null;
        }
        public Component GetComponent(string type)
        {
            foreach (var c in m_Components) if (c.GetType().Name == type) return c;
            return null;
        }
        public T GetComponentInChildren<T>()
        {
            var mine = GetComponent<T>();
            if (mine != null) return mine;
            foreach (Transform child in m_Transform) { var c = child.gameObject.GetComponentInChildren<T>(); if (c != null) return c; }
            return default(T);
        }
        public T GetComponentInParent<T>()
        {
            for (var t = m_Transform; t != null; t = t.m_Parent) { var c = t.gameObject.GetComponent<T>(); if (c != null) return c; }
            return default(T);
        }
        public T[] GetComponents<T>()
        {
            var list = new List<T>();
            foreach (var c in m_Components) if (c is T) list.Add((T)(object)c);
            return list.ToArray();
        }
        public T[] GetComponentsInChildren<T>()
        {
            var list = new List<T>(GetComponents<T>());
            foreach (Transform child in m_Transform) list.AddRange(child.gameObject.GetComponentsInChildren<T>());
            return list.ToArray();
        }
        public bool TryGetComponent<T>(out T component) { component = GetComponent<T>(); return component != null; }
        public T AddComponent<T>() where T : Component { return (T)AddComponent(typeof(T)); }
        public Component AddComponent(Type componentType)
        {
            var c = (Component)Activator.CreateInstance(componentType, true);
            c.m_GameObject = this;
            c.m_Name = m_Name;
            m_Components.Add(c);
            foreach (RequireComponent req in componentType.GetCustomAttributes(typeof(RequireComponent), true))
                foreach (var t in req.Types) if (t != null && GetComponent(t) == null) AddComponent(t);
            var b = c as Behaviour;
            if (b != null && activeInHierarchy) { Sim.AwakeOnce(b); Sim.Call(b, "OnEnable"); }
            return c;
        }
        public bool CompareTag(string tag) { return m_Tag == tag; }
        public void SendMessage(string methodName) { SendMessage(methodName, null, SendMessageOptions.RequireReceiver); }
        public void SendMessage(string methodName, object value) { SendMessage(methodName, value, SendMessageOptions.RequireReceiver); }
        public void SendMessage(string methodName, object value, SendMessageOptions options)
        {
            foreach (var c in m_Components.ToArray())
            {
                var m = c.GetType().GetMethod(methodName, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
                if (m == null) continue;
                Sim.Invoke(c, m, m.GetParameters().Length == 1 ? new object[] { value } : null);
            }
        }
        public void BroadcastMessage(string methodName) { SendMessage(methodName); }
        internal override void DoDestroy()
        {
            if (m_Destroyed) return;
            Sim.Event("destroy", m_Name);
            m_Destroying = true;
            foreach (Transform child in m_Transform) child.gameObject.DoDestroy();
            foreach (var c in m_Components.ToArray()) c.DoDestroy();
            m_Destroyed = true;
            Sim.world.Remove(this);
        }
        public static GameObject Find(string name)
        {
            foreach (var g in Sim.world) if (g.m_Name == name && g.activeInHierarchy) return g;
            return null;
        }
        public static GameObject FindWithTag(string tag) { return FindGameObjectWithTag(tag); }
        public static GameObject FindGameObjectWithTag(string tag)
        {
            foreach (var g in Sim.world) if (g.m_Tag == tag && g.activeInHierarchy) return g;
            return null;
        }
        public static GameObject[] FindGameObjectsWithTag(string tag) { return Sim.world.FindAll(g => g.m_Tag == tag && g.activeInHierarchy).ToArray(); }
        public static GameObject CreatePrimitive(PrimitiveType type)
        {
            var g = new GameObject(type.ToString());
            g.AddComponent<MeshRenderer>();
            if (type == PrimitiveType.Sphere) g.AddComponent<SphereCollider>(); else g.AddComponent<BoxCollider>();
            return g;
        }
    }

    public enum PrimitiveType { Sphere, Capsule, Cylinder, Cube, Plane, Quad }

    public class Transform : Component, IEnumerable
    {
        internal Vector3 m_LocalPosition = Vector3.zero, m_LocalScale = Vector3.one;
        internal Quaternion m_LocalRotation = Quaternion.identity;
        internal Transform m_Parent;
        internal List<Transform> m_Children = new List<Transform>();
        internal Transform() { }

        public Vector3 localPosition { get { return m_LocalPosition; } set { m_LocalPosition = value; } }
        public Quaternion localRotation { get { return m_LocalRotation; } set { m_LocalRotation = value.normalized; } }
        public Vector3 localScale { get { return m_LocalScale; } set { m_LocalScale = value; } }
        public Vector3 position
        {
            get { return m_Parent == null ? m_LocalPosition : m_Parent.TransformPoint(m_LocalPosition); }
            set { m_LocalPosition = m_Parent == null ? value : m_Parent.InverseTransformPoint(value); }
        }
        public Quaternion rotation
        {
            get { return m_Parent == null ? m_LocalRotation : m_Parent.rotation * m_LocalRotation; }
            set { m_LocalRotation = (m_Parent == null ? value : Quaternion.Inverse(m_Parent.rotation) * value).normalized; }
        }
        public Vector3 eulerAngles { get { return rotation.eulerAngles; } set { rotation = Quaternion.Euler(value); } }
        public Vector3 localEulerAngles { get { return m_LocalRotation.eulerAngles; } set { m_LocalRotation = Quaternion.Euler(value); } }
        public Vector3 lossyScale { get { return m_Parent == null ? m_LocalScale : Vector3.Scale(m_Parent.lossyScale, m_LocalScale); } }
        public Vector3 forward { get { return rotation * Vector3.forward; } set { rotation = Quaternion.LookRotation(value); } }
        public Vector3 right { get { return rotation * Vector3.right; } set { rotation = Quaternion.FromToRotation(Vector3.right, value); } }
        public Vector3 up { get { return rotation * Vector3.up; } set { rotation = Quaternion.FromToRotation(Vector3.up, value); } }
        public Transform parent { get { return m_Parent; } set { SetParent(value); } }
        public Transform root { get { var t = this; while (t.m_Parent != null) t = t.m_Parent; return t; } }
        public int childCount { get { return m_Children.Count; } }
        public bool hasChanged { get; set; }

        public void SetParent(Transform p) { SetParent(p, true); }
        public void SetParent(Transform p, bool worldPositionStays)
        {
            Vector3 pos = position; Quaternion rot = rotation;
            if (m_Parent != null) m_Parent.m_Children.Remove(this);
            m_Parent = p;
            if (p != null) p.m_Children.Add(this);
            if (worldPositionStays) { position = pos; rotation = rot; }
        }
        public void SetPositionAndRotation(Vector3 position, Quaternion rotation) { this.position = position; this.rotation = rotation; }
        public void DetachChildren() { foreach (var c in m_Children.ToArray()) c.SetParent(null); }
        public Transform GetChild(int index) { return m_Children[index]; }
        public Transform Find(string n) { foreach (var c in m_Children) if (c.gameObject.name == n) return c; return null; }
        public bool IsChildOf(Transform p) { for (var t = this; t != null; t = t.m_Parent) if (t == p) return true; return false; }
        public int GetSiblingIndex() { return m_Parent == null ? 0 : m_Parent.m_Children.IndexOf(this); }
        public void SetSiblingIndex(int index) { }
        public void SetAsFirstSibling() { }
        public void SetAsLastSibling() { }
        public IEnumerator GetEnumerator() { return m_Children.ToArray().GetEnumerator(); }

        public void Translate(Vector3 translation) { Translate(translation, Space.Self); }
        public void Translate(Vector3 translation, Space relativeTo)
        {
            if (relativeTo == Space.World) position += translation;
            else position += TransformDirection(translation);
        }
        public void Translate(float x, float y, float z) { Translate(new Vector3(x, y, z), Space.Self); }
        public void Translate(float x, float y, float z, Space relativeTo) { Translate(new Vector3(x, y, z), relativeTo); }
        public void Translate(Vector3 translation, Transform relativeTo)
        {
            if (relativeTo != null) position += relativeTo.TransformDirection(translation); else position += translation;
        }
        public void Translate(float x, float y, float z, Transform relativeTo) { Translate(new Vector3(x, y, z), relativeTo); }

        public void Rotate(Vector3 eulers) { Rotate(eulers, Space.Self); }
        public void Rotate(Vector3 eulers, Space relativeTo)
        {
            Quaternion q = Quaternion.Euler(eulers.x, eulers.y, eulers.z);
            if (relativeTo == Space.Self) localRotation = m_LocalRotation * q;
            else rotation = rotation * (Quaternion.Inverse(rotation) * q * rotation);
        }
        public void Rotate(float xAngle, float yAngle, float zAngle) { Rotate(new Vector3(xAngle, yAngle, zAngle), Space.Self); }
        public void Rotate(float xAngle, float yAngle, float zAngle, Space relativeTo) { Rotate(new Vector3(xAngle, yAngle, zAngle), relativeTo); }
        public void Rotate(Vector3 axis, float angle) { Rotate(axis, angle, Space.Self); }
        public void Rotate(Vector3 axis, float angle, Space relativeTo)
        {
            if (relativeTo == Space.Self) localRotation = m_LocalRotation * Quaternion.AngleAxis(angle, axis);
            else rotation = Quaternion.AngleAxis(angle, axis) * rotation;
        }
        public void RotateAround(Vector3 point, Vector3 axis, float angle)
        {
            Quaternion q = Quaternion.AngleAxis(angle, axis);
            position = point + q * (position - point);
            rotation = q * rotation;
        }
        public void LookAt(Transform target) { if (target != null) LookAt(target.position, Vector3.up); }
        public void LookAt(Transform target, Vector3 worldUp) { if (target != null) LookAt(target.position, worldUp); }
        public void LookAt(Vector3 worldPosition) { LookAt(worldPosition, Vector3.up); }
        public void LookAt(Vector3 worldPosition, Vector3 worldUp)
        {
            Vector3 d = worldPosition - position;
            if (d.sqrMagnitude > 1e-12f) rotation = Quaternion.LookRotation(d, worldUp);
        }
        public Vector3 TransformDirection(Vector3 direction) { return rotation * direction; }
        public Vector3 TransformDirection(float x, float y, float z) { return TransformDirection(new Vector3(x, y, z)); }
        public Vector3 InverseTransformDirection(Vector3 direction) { return Quaternion.Inverse(rotation) * direction; }
        public Vector3 InverseTransformDirection(float x, float y, float z) { return InverseTransformDirection(new Vector3(x, y, z)); }
        public Vector3 TransformVector(Vector3 vector) { return rotation * Vector3.Scale(lossyScale, vector); }
        public Vector3 TransformPoint(Vector3 p) { return position + rotation * Vector3.Scale(lossyScale, p); }
        public Vector3 TransformPoint(float x, float y, float z) { return TransformPoint(new Vector3(x, y, z)); }
        public Vector3 InverseTransformPoint(Vector3 p)
        {
            Vector3 s = lossyScale, v = Quaternion.Inverse(rotation) * (p - position);
            return new Vector3(v.x / s.x, v.y / s.y, v.z / s.z);
        }
        public Vector3 InverseTransformPoint(float x, float y, float z) { return InverseTransformPoint(new Vector3(x, y, z)); }
    }

    public enum Space { World, Self }
    public enum ForceMode { Force = 0, Acceleration = 5, Impulse = 1, VelocityChange = 2 }
    public enum ForceMode2D { Force, Impulse }
    public enum RigidbodyConstraints { None = 0, FreezePositionX = 2, FreezePositionY = 4, FreezePositionZ = 8, FreezeRotationX = 16, FreezeRotationY = 32, FreezeRotationZ = 64, FreezePosition = 14, FreezeRotation = 112, FreezeAll = 126 }
    public enum RigidbodyInterpolation { None, Interpolate, Extrapolate }
    public enum CollisionDetectionMode { Discrete, Continuous, ContinuousDynamic, ContinuousSpeculative }
    public enum RigidbodyType2D { Dynamic, Kinematic, Static }
    public enum QueryTriggerInteraction { UseGlobal, Ignore, Collide }
    public enum CursorLockMode { None, Locked, Confined }
    public enum LightType { Spot, Directional, Point, Area }
    public enum TouchPhase { Began, Moved, Stationary, Ended, Canceled }
    public enum RuntimePlatform { OSXEditor = 0, OSXPlayer = 1, WindowsPlayer = 2, WindowsEditor = 7, IPhonePlayer = 8, Android = 11, LinuxPlayer = 13, LinuxEditor = 16, WebGLPlayer = 17 }
    public enum CollisionFlags { None = 0, Sides = 1, Above = 2, Below = 4 }

    // The full KeyCode enum of Unity 2021 (values as Unity's).
    public enum KeyCode
    {
        None = 0, Backspace = 8, Delete = 127, Tab = 9, Clear = 12, Return = 13, Pause = 19, Escape = 27, Space = 32,
        Keypad0 = 256, Keypad1 = 257, Keypad2 = 258, Keypad3 = 259, Keypad4 = 260, Keypad5 = 261, Keypad6 = 262,
        Keypad7 = 263, Keypad8 = 264, Keypad9 = 265, KeypadPeriod = 266, KeypadDivide = 267, KeypadMultiply = 268,
        KeypadMinus = 269, KeypadPlus = 270, KeypadEnter = 271, KeypadEquals = 272,
        UpArrow = 273, DownArrow = 274, RightArrow = 275, LeftArrow = 276, Insert = 277, Home = 278, End = 279,
        PageUp = 280, PageDown = 281, F1 = 282, F2 = 283, F3 = 284, F4 = 285, F5 = 286, F6 = 287, F7 = 288, F8 = 289,
        F9 = 290, F10 = 291, F11 = 292, F12 = 293, F13 = 294, F14 = 295, F15 = 296,
        Alpha0 = 48, Alpha1 = 49, Alpha2 = 50, Alpha3 = 51, Alpha4 = 52, Alpha5 = 53, Alpha6 = 54, Alpha7 = 55,
        Alpha8 = 56, Alpha9 = 57, Exclaim = 33, DoubleQuote = 34, Hash = 35, Dollar = 36, Percent = 37, Ampersand = 38,
        Quote = 39, LeftParen = 40, RightParen = 41, Asterisk = 42, Plus = 43, Comma = 44, Minus = 45, Period = 46,
        Slash = 47, Colon = 58, Semicolon = 59, Less = 60, Equals = 61, Greater = 62, Question = 63, At = 64,
        LeftBracket = 91, Backslash = 92, RightBracket = 93, Caret = 94, Underscore = 95, BackQuote = 96,
        A = 97, B = 98, C = 99, D = 100, E = 101, F = 102, G = 103, H = 104, I = 105, J = 106, K = 107, L = 108,
        M = 109, N = 110, O = 111, P = 112, Q = 113, R = 114, S = 115, T = 116, U = 117, V = 118, W = 119, X = 120,
        Y = 121, Z = 122, LeftCurlyBracket = 123, Pipe = 124, RightCurlyBracket = 125, Tilde = 126,
        Numlock = 300, CapsLock = 301, ScrollLock = 302, RightShift = 303, LeftShift = 304, RightControl = 305,
        LeftControl = 306, RightAlt = 307, LeftAlt = 308, RightCommand = 309, RightApple = 309, LeftCommand = 310,
        LeftApple = 310, LeftWindows = 311, RightWindows = 312, AltGr = 313, Help = 315, Print = 316, SysReq = 317,
        Break = 318, Menu = 319, Mouse0 = 323, Mouse1 = 324, Mouse2 = 325, Mouse3 = 326, Mouse4 = 327, Mouse5 = 328,
        Mouse6 = 329, JoystickButton0 = 330, JoystickButton1 = 331, JoystickButton2 = 332, JoystickButton3 = 333,
        JoystickButton4 = 334, JoystickButton5 = 335, JoystickButton6 = 336, JoystickButton7 = 337,
        JoystickButton8 = 338, JoystickButton9 = 339,
    }

    // ------------------------------------------------------------------ maths
    public struct Vector3
    {
        public const float kEpsilon = 1e-05f;
        public const float kEpsilonNormalSqrt = 1e-15f;
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
        public Vector3(float x, float y) { this.x = x; this.y = y; this.z = 0f; }
        public float this[int index]
        {
            get { return index == 0 ? x : index == 1 ? y : index == 2 ? z : Bad(index); }
            set { if (index == 0) x = value; else if (index == 1) y = value; else if (index == 2) z = value; else Bad(index); }
        }
        static float Bad(int i) { throw new IndexOutOfRangeException("Invalid Vector3 index!"); }
        public static Vector3 zero { get { return new Vector3(0f, 0f, 0f); } }
        public static Vector3 one { get { return new Vector3(1f, 1f, 1f); } }
        public static Vector3 up { get { return new Vector3(0f, 1f, 0f); } }
        public static Vector3 down { get { return new Vector3(0f, -1f, 0f); } }
        public static Vector3 left { get { return new Vector3(-1f, 0f, 0f); } }
        public static Vector3 right { get { return new Vector3(1f, 0f, 0f); } }
        public static Vector3 forward { get { return new Vector3(0f, 0f, 1f); } }
        public static Vector3 back { get { return new Vector3(0f, 0f, -1f); } }
        public static Vector3 positiveInfinity { get { return new Vector3(float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity); } }
        public static Vector3 negativeInfinity { get { return new Vector3(float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity); } }
        public float magnitude { get { return (float)Math.Sqrt(x * x + y * y + z * z); } }
        public float sqrMagnitude { get { return x * x + y * y + z * z; } }
        public Vector3 normalized { get { return Normalize(this); } }
        public void Normalize() { this = Normalize(this); }
        public void Set(float newX, float newY, float newZ) { x = newX; y = newY; z = newZ; }
        public void Scale(Vector3 scale) { x *= scale.x; y *= scale.y; z *= scale.z; }
        public static Vector3 Normalize(Vector3 value) { float m = value.magnitude; return m > kEpsilon ? value / m : zero; }
        public static float Magnitude(Vector3 v) { return v.magnitude; }
        public static float SqrMagnitude(Vector3 v) { return v.sqrMagnitude; }
        public static float Distance(Vector3 a, Vector3 b) { return (a - b).magnitude; }
        public static float Dot(Vector3 a, Vector3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
        public static Vector3 Cross(Vector3 a, Vector3 b) { return new Vector3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x); }
        public static Vector3 Scale(Vector3 a, Vector3 b) { return new Vector3(a.x * b.x, a.y * b.y, a.z * b.z); }
        public static Vector3 Lerp(Vector3 a, Vector3 b, float t) { t = Mathf.Clamp01(t); return LerpUnclamped(a, b, t); }
        public static Vector3 LerpUnclamped(Vector3 a, Vector3 b, float t) { return a + (b - a) * t; }
        public static Vector3 Slerp(Vector3 a, Vector3 b, float t) { return Lerp(a, b, t); }
        public static Vector3 MoveTowards(Vector3 current, Vector3 target, float maxDistanceDelta)
        {
            Vector3 d = target - current; float m = d.magnitude;
            if (m <= maxDistanceDelta || m == 0f) return target;
            return current + d / m * maxDistanceDelta;
        }
        public static Vector3 RotateTowards(Vector3 current, Vector3 target, float maxRadiansDelta, float maxMagnitudeDelta)
        {
            float angle = Angle(current, target) * Mathf.Deg2Rad;
            if (angle <= maxRadiansDelta) return target;
            return Quaternion.AngleAxis(maxRadiansDelta * Mathf.Rad2Deg, Cross(current, target)) * current;
        }
        public static Vector3 SmoothDamp(Vector3 current, Vector3 target, ref Vector3 currentVelocity, float smoothTime)
        {
            return SmoothDamp(current, target, ref currentVelocity, smoothTime, Mathf.Infinity, Time.deltaTime);
        }
        public static Vector3 SmoothDamp(Vector3 current, Vector3 target, ref Vector3 currentVelocity, float smoothTime, float maxSpeed)
        {
            return SmoothDamp(current, target, ref currentVelocity, smoothTime, maxSpeed, Time.deltaTime);
        }
        public static Vector3 SmoothDamp(Vector3 current, Vector3 target, ref Vector3 currentVelocity, float smoothTime, float maxSpeed, float deltaTime)
        {
            float vx = currentVelocity.x, vy = currentVelocity.y, vz = currentVelocity.z;
            var r = new Vector3(Mathf.SmoothDamp(current.x, target.x, ref vx, smoothTime, maxSpeed, deltaTime),
                                Mathf.SmoothDamp(current.y, target.y, ref vy, smoothTime, maxSpeed, deltaTime),
                                Mathf.SmoothDamp(current.z, target.z, ref vz, smoothTime, maxSpeed, deltaTime));
            currentVelocity = new Vector3(vx, vy, vz);
            return r;
        }
        public static Vector3 Reflect(Vector3 inDirection, Vector3 inNormal) { return -2f * Dot(inNormal, inDirection) * inNormal + inDirection; }
        public static Vector3 Project(Vector3 vector, Vector3 onNormal)
        {
            float sq = Dot(onNormal, onNormal);
            return sq < Mathf.Epsilon ? zero : onNormal * Dot(vector, onNormal) / sq;
        }
        public static Vector3 ProjectOnPlane(Vector3 vector, Vector3 planeNormal) { return vector - Project(vector, planeNormal); }
        public static float Angle(Vector3 from, Vector3 to)
        {
            float d = (float)Math.Sqrt(from.sqrMagnitude * to.sqrMagnitude);
            if (d < kEpsilonNormalSqrt) return 0f;
            return (float)Math.Acos(Mathf.Clamp(Dot(from, to) / d, -1f, 1f)) * Mathf.Rad2Deg;
        }
        public static float SignedAngle(Vector3 from, Vector3 to, Vector3 axis)
        {
            float a = Angle(from, to);
            return Dot(axis, Cross(from, to)) < 0f ? -a : a;
        }
        public static Vector3 ClampMagnitude(Vector3 vector, float maxLength) { return vector.sqrMagnitude > maxLength * maxLength ? vector.normalized * maxLength : vector; }
        public static Vector3 Min(Vector3 a, Vector3 b) { return new Vector3(Math.Min(a.x, b.x), Math.Min(a.y, b.y), Math.Min(a.z, b.z)); }
        public static Vector3 Max(Vector3 a, Vector3 b) { return new Vector3(Math.Max(a.x, b.x), Math.Max(a.y, b.y), Math.Max(a.z, b.z)); }
        public static Vector3 operator +(Vector3 a, Vector3 b) { return new Vector3(a.x + b.x, a.y + b.y, a.z + b.z); }
        public static Vector3 operator -(Vector3 a, Vector3 b) { return new Vector3(a.x - b.x, a.y - b.y, a.z - b.z); }
        public static Vector3 operator -(Vector3 a) { return new Vector3(-a.x, -a.y, -a.z); }
        public static Vector3 operator *(Vector3 a, float d) { return new Vector3(a.x * d, a.y * d, a.z * d); }
        public static Vector3 operator *(float d, Vector3 a) { return new Vector3(a.x * d, a.y * d, a.z * d); }
        public static Vector3 operator /(Vector3 a, float d) { return new Vector3(a.x / d, a.y / d, a.z / d); }
        public static bool operator ==(Vector3 a, Vector3 b) { return (a - b).sqrMagnitude < 9.99999944E-11f; }
        public static bool operator !=(Vector3 a, Vector3 b) { return !(a == b); }
        public static implicit operator Vector2(Vector3 v) { return new Vector2(v.x, v.y); }
        public static implicit operator Vector3(Vector2 v) { return new Vector3(v.x, v.y, 0f); }
        public override bool Equals(object other) { return other is Vector3 && this == (Vector3)other; }
        public bool Equals(Vector3 other) { return this == other; }
        public override int GetHashCode() { return x.GetHashCode() ^ (y.GetHashCode() << 2) ^ (z.GetHashCode() >> 2); }
        public override string ToString() { return string.Format(CultureInfo.InvariantCulture, "({0:F2}, {1:F2}, {2:F2})", x, y, z); }
        public string ToString(string format) { return "(" + x.ToString(format, CultureInfo.InvariantCulture) + ", " + y.ToString(format, CultureInfo.InvariantCulture) + ", " + z.ToString(format, CultureInfo.InvariantCulture) + ")"; }
    }

    public struct Vector2
    {
        public const float kEpsilon = 1e-05f;
        public float x, y;
        public Vector2(float x, float y) { this.x = x; this.y = y; }
        public float this[int index] { get { return index == 0 ? x : y; } set { if (index == 0) x = value; else y = value; } }
        public static Vector2 zero { get { return new Vector2(0f, 0f); } }
        public static Vector2 one { get { return new Vector2(1f, 1f); } }
        public static Vector2 up { get { return new Vector2(0f, 1f); } }
        public static Vector2 down { get { return new Vector2(0f, -1f); } }
        public static Vector2 left { get { return new Vector2(-1f, 0f); } }
        public static Vector2 right { get { return new Vector2(1f, 0f); } }
        public float magnitude { get { return (float)Math.Sqrt(x * x + y * y); } }
        public float sqrMagnitude { get { return x * x + y * y; } }
        public Vector2 normalized { get { float m = magnitude; return m > kEpsilon ? this / m : zero; } }
        public void Normalize() { this = normalized; }
        public void Set(float newX, float newY) { x = newX; y = newY; }
        public static float Distance(Vector2 a, Vector2 b) { return (a - b).magnitude; }
        public static float Dot(Vector2 a, Vector2 b) { return a.x * b.x + a.y * b.y; }
        public static float Angle(Vector2 from, Vector2 to) { return Vector3.Angle(from, to); }
        public static float SignedAngle(Vector2 from, Vector2 to) { float a = Angle(from, to); return from.x * to.y - from.y * to.x < 0f ? -a : a; }
        public static Vector2 Lerp(Vector2 a, Vector2 b, float t) { t = Mathf.Clamp01(t); return a + (b - a) * t; }
        public static Vector2 MoveTowards(Vector2 current, Vector2 target, float maxDistanceDelta)
        {
            Vector2 d = target - current; float m = d.magnitude;
            if (m <= maxDistanceDelta || m == 0f) return target;
            return current + d / m * maxDistanceDelta;
        }
        public static Vector2 Scale(Vector2 a, Vector2 b) { return new Vector2(a.x * b.x, a.y * b.y); }
        public static Vector2 Perpendicular(Vector2 d) { return new Vector2(-d.y, d.x); }
        public static Vector2 ClampMagnitude(Vector2 v, float maxLength) { return v.sqrMagnitude > maxLength * maxLength ? v.normalized * maxLength : v; }
        public static Vector2 operator +(Vector2 a, Vector2 b) { return new Vector2(a.x + b.x, a.y + b.y); }
        public static Vector2 operator -(Vector2 a, Vector2 b) { return new Vector2(a.x - b.x, a.y - b.y); }
        public static Vector2 operator -(Vector2 a) { return new Vector2(-a.x, -a.y); }
        public static Vector2 operator *(Vector2 a, float d) { return new Vector2(a.x * d, a.y * d); }
        public static Vector2 operator *(float d, Vector2 a) { return new Vector2(a.x * d, a.y * d); }
        public static Vector2 operator *(Vector2 a, Vector2 b) { return new Vector2(a.x * b.x, a.y * b.y); }
        public static Vector2 operator /(Vector2 a, float d) { return new Vector2(a.x / d, a.y / d); }
        public static bool operator ==(Vector2 a, Vector2 b) { return (a - b).sqrMagnitude < 9.99999944E-11f; }
        public static bool operator !=(Vector2 a, Vector2 b) { return !(a == b); }
        public override bool Equals(object other) { return other is Vector2 && this == (Vector2)other; }
        public override int GetHashCode() { return x.GetHashCode() ^ (y.GetHashCode() << 2); }
        public override string ToString() { return string.Format(CultureInfo.InvariantCulture, "({0:F2}, {1:F2})", x, y); }
    }

    public struct Vector2Int
    {
        public int x { get; set; }
        public int y { get; set; }
        public Vector2Int(int x, int y) { this.x = x; this.y = y; }
        public static Vector2Int zero { get { return new Vector2Int(0, 0); } }
        public static Vector2Int one { get { return new Vector2Int(1, 1); } }
        public static Vector2Int operator +(Vector2Int a, Vector2Int b) { return new Vector2Int(a.x + b.x, a.y + b.y); }
        public static implicit operator Vector2(Vector2Int v) { return new Vector2(v.x, v.y); }
    }

    public struct Vector3Int
    {
        public int x { get; set; }
        public int y { get; set; }
        public int z { get; set; }
        public Vector3Int(int x, int y, int z) { this.x = x; this.y = y; this.z = z; }
        public static Vector3Int zero { get { return new Vector3Int(0, 0, 0); } }
        public static implicit operator Vector3(Vector3Int v) { return new Vector3(v.x, v.y, v.z); }
    }

    public struct Vector4
    {
        public float x, y, z, w;
        public Vector4(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Vector4 zero { get { return new Vector4(0f, 0f, 0f, 0f); } }
        public static implicit operator Vector4(Vector3 v) { return new Vector4(v.x, v.y, v.z, 0f); }
        public static implicit operator Vector3(Vector4 v) { return new Vector3(v.x, v.y, v.z); }
    }

    public struct Quaternion
    {
        public const float kEpsilon = 1e-06f;
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Quaternion identity { get { return new Quaternion(0f, 0f, 0f, 1f); } }
        public Quaternion normalized
        {
            get
            {
                float m = (float)Math.Sqrt(x * x + y * y + z * z + w * w);
                return m < Mathf.Epsilon ? identity : new Quaternion(x / m, y / m, z / m, w / m);
            }
        }
        public void Normalize() { this = normalized; }
        public void Set(float newX, float newY, float newZ, float newW) { x = newX; y = newY; z = newZ; w = newW; }
        public Vector3 eulerAngles
        {
            get
            {
                // Unity's Z, X, Y order; angles in [0, 360)
                Quaternion q = normalized;
                double sinx = 2.0 * (q.w * q.x - q.y * q.z);
                double ex, ey, ez;
                if (Math.Abs(sinx) >= 0.99999)
                {
                    ex = Math.PI / 2 * Math.Sign(sinx);
                    ey = 2.0 * Math.Atan2(q.y, q.w);
                    ez = 0.0;
                }
                else
                {
                    ex = Math.Asin(sinx);
                    ey = Math.Atan2(2.0 * (q.w * q.y + q.x * q.z), 1.0 - 2.0 * (q.x * q.x + q.y * q.y));
                    ez = Math.Atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.x * q.x + q.z * q.z));
                }
                return new Vector3(Wrap(ex), Wrap(ey), Wrap(ez));
            }
            set { this = Euler(value); }
        }
        static float Wrap(double rad) { double d = rad * 180.0 / Math.PI % 360.0; if (d < 0) d += 360.0; return (float)(d >= 359.9999 ? 0.0 : d); }
        public static Quaternion Euler(float x, float y, float z)
        {
            return AngleAxis(y, Vector3.up) * AngleAxis(x, Vector3.right) * AngleAxis(z, Vector3.forward);
        }
        public static Quaternion Euler(Vector3 euler) { return Euler(euler.x, euler.y, euler.z); }
        public static Quaternion AngleAxis(float angle, Vector3 axis)
        {
            Vector3 n = axis.normalized;
            if (n.sqrMagnitude < 1e-12f) return identity;
            double half = angle * Math.PI / 360.0, s = Math.Sin(half);
            return new Quaternion((float)(n.x * s), (float)(n.y * s), (float)(n.z * s), (float)Math.Cos(half));
        }
        public void ToAngleAxis(out float angle, out Vector3 axis)
        {
            Quaternion q = normalized;
            angle = 2f * (float)Math.Acos(Mathf.Clamp(q.w, -1f, 1f)) * Mathf.Rad2Deg;
            float s = (float)Math.Sqrt(Math.Max(0.0, 1.0 - q.w * q.w));
            axis = s < 1e-6f ? Vector3.right : new Vector3(q.x / s, q.y / s, q.z / s);
        }
        public static Quaternion LookRotation(Vector3 forward) { return LookRotation(forward, Vector3.up); }
        public static Quaternion LookRotation(Vector3 forward, Vector3 upwards)
        {
            Vector3 f = forward.normalized;
            if (f.sqrMagnitude < 1e-12f) return identity;
            Vector3 r = Vector3.Cross(upwards, f).normalized;
            if (r.sqrMagnitude < 1e-12f) return FromToRotation(Vector3.forward, f);
            Vector3 u = Vector3.Cross(f, r);
            // rotation matrix with columns r, u, f → quaternion
            double m00 = r.x, m01 = u.x, m02 = f.x, m10 = r.y, m11 = u.y, m12 = f.y, m20 = r.z, m21 = u.z, m22 = f.z;
            double tr = m00 + m11 + m22, qx, qy, qz, qw;
            if (tr > 0) { double s = Math.Sqrt(tr + 1.0) * 2; qw = 0.25 * s; qx = (m21 - m12) / s; qy = (m02 - m20) / s; qz = (m10 - m01) / s; }
            else if (m00 > m11 && m00 > m22) { double s = Math.Sqrt(1.0 + m00 - m11 - m22) * 2; qw = (m21 - m12) / s; qx = 0.25 * s; qy = (m01 + m10) / s; qz = (m02 + m20) / s; }
            else if (m11 > m22) { double s = Math.Sqrt(1.0 + m11 - m00 - m22) * 2; qw = (m02 - m20) / s; qx = (m01 + m10) / s; qy = 0.25 * s; qz = (m12 + m21) / s; }
            else { double s = Math.Sqrt(1.0 + m22 - m00 - m11) * 2; qw = (m10 - m01) / s; qx = (m02 + m20) / s; qy = (m12 + m21) / s; qz = 0.25 * s; }
            return new Quaternion((float)qx, (float)qy, (float)qz, (float)qw).normalized;
        }
        public static Quaternion FromToRotation(Vector3 fromDirection, Vector3 toDirection)
        {
            Vector3 a = fromDirection.normalized, b = toDirection.normalized;
            float d = Vector3.Dot(a, b);
            if (d > 0.999999f) return identity;
            Vector3 axis = Vector3.Cross(a, b);
            if (d < -0.999999f) { axis = Vector3.Cross(Vector3.right, a); if (axis.sqrMagnitude < 1e-6f) axis = Vector3.Cross(Vector3.up, a); return AngleAxis(180f, axis); }
            return AngleAxis((float)Math.Acos(d) * Mathf.Rad2Deg, axis);
        }
        public static Quaternion Inverse(Quaternion q) { return new Quaternion(-q.x, -q.y, -q.z, q.w); }
        public static float Dot(Quaternion a, Quaternion b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }
        public static float Angle(Quaternion a, Quaternion b)
        {
            float d = Math.Min(Math.Abs(Dot(a, b)), 1f);
            return d > 1f - kEpsilon ? 0f : (float)Math.Acos(d) * 2f * Mathf.Rad2Deg;
        }
        public static Quaternion Slerp(Quaternion a, Quaternion b, float t) { return SlerpUnclamped(a, b, Mathf.Clamp01(t)); }
        public static Quaternion SlerpUnclamped(Quaternion a, Quaternion b, float t)
        {
            float d = Dot(a, b);
            if (d < 0f) { b = new Quaternion(-b.x, -b.y, -b.z, -b.w); d = -d; }
            if (d > 0.9995f) return LerpUnclamped(a, b, t);
            double th = Math.Acos(d), s = Math.Sin(th), wa = Math.Sin((1 - t) * th) / s, wb = Math.Sin(t * th) / s;
            return new Quaternion((float)(a.x * wa + b.x * wb), (float)(a.y * wa + b.y * wb), (float)(a.z * wa + b.z * wb), (float)(a.w * wa + b.w * wb));
        }
        public static Quaternion Lerp(Quaternion a, Quaternion b, float t) { return LerpUnclamped(a, b, Mathf.Clamp01(t)); }
        public static Quaternion LerpUnclamped(Quaternion a, Quaternion b, float t)
        {
            if (Dot(a, b) < 0f) b = new Quaternion(-b.x, -b.y, -b.z, -b.w);
            return new Quaternion(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, a.z + (b.z - a.z) * t, a.w + (b.w - a.w) * t).normalized;
        }
        public static Quaternion RotateTowards(Quaternion from, Quaternion to, float maxDegreesDelta)
        {
            float angle = Angle(from, to);
            return angle == 0f ? to : SlerpUnclamped(from, to, Math.Min(1f, maxDegreesDelta / angle));
        }
        public static Quaternion operator *(Quaternion a, Quaternion b)
        {
            return new Quaternion(a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y, a.w * b.y + a.y * b.w + a.z * b.x - a.x * b.z,
                                  a.w * b.z + a.z * b.w + a.x * b.y - a.y * b.x, a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z);
        }
        public static Vector3 operator *(Quaternion q, Vector3 v)
        {
            float tx = 2f * (q.y * v.z - q.z * v.y), ty = 2f * (q.z * v.x - q.x * v.z), tz = 2f * (q.x * v.y - q.y * v.x);
            return new Vector3(v.x + q.w * tx + (q.y * tz - q.z * ty), v.y + q.w * ty + (q.z * tx - q.x * tz), v.z + q.w * tz + (q.x * ty - q.y * tx));
        }
        public static bool operator ==(Quaternion a, Quaternion b) { return Dot(a, b) > 1f - kEpsilon; }
        public static bool operator !=(Quaternion a, Quaternion b) { return !(a == b); }
        public override bool Equals(object other) { return other is Quaternion && this == (Quaternion)other; }
        public override int GetHashCode() { return x.GetHashCode() ^ (y.GetHashCode() << 2) ^ (z.GetHashCode() >> 2) ^ (w.GetHashCode() >> 1); }
        public override string ToString() { return string.Format(CultureInfo.InvariantCulture, "({0:F5}, {1:F5}, {2:F5}, {3:F5})", x, y, z, w); }
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
        public static Color yellow { get { return new Color(1f, 0.921568632f, 0.0156862754f); } }
        public static Color cyan { get { return new Color(0f, 1f, 1f); } }
        public static Color magenta { get { return new Color(1f, 0f, 1f); } }
        public static Color gray { get { return new Color(0.5f, 0.5f, 0.5f); } }
        public static Color grey { get { return new Color(0.5f, 0.5f, 0.5f); } }
        public static Color clear { get { return new Color(0f, 0f, 0f, 0f); } }
        public float grayscale { get { return 0.299f * r + 0.587f * g + 0.114f * b; } }
        public static Color Lerp(Color a, Color b, float t) { t = Mathf.Clamp01(t); return new Color(a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t, a.a + (b.a - a.a) * t); }
        public static Color HSVToRGB(float H, float S, float V) { return new Color(V, V, V); }
        public static Color operator *(Color c, float d) { return new Color(c.r * d, c.g * d, c.b * d, c.a * d); }
        public static Color operator *(float d, Color c) { return c * d; }
        public static Color operator *(Color a, Color b) { return new Color(a.r * b.r, a.g * b.g, a.b * b.b, a.a * b.a); }
        public static Color operator +(Color a, Color b) { return new Color(a.r + b.r, a.g + b.g, a.b + b.b, a.a + b.a); }
        public static Color operator -(Color a, Color b) { return new Color(a.r - b.r, a.g - b.g, a.b - b.b, a.a - b.a); }
        public static bool operator ==(Color a, Color b) { return a.r == b.r && a.g == b.g && a.b == b.b && a.a == b.a; }
        public static bool operator !=(Color a, Color b) { return !(a == b); }
        public static implicit operator Vector4(Color c) { return new Vector4(c.r, c.g, c.b, c.a); }
        public override bool Equals(object other) { return other is Color && this == (Color)other; }
        public override int GetHashCode() { return r.GetHashCode() ^ g.GetHashCode() ^ b.GetHashCode() ^ a.GetHashCode(); }
    }

    public struct Color32
    {
        public byte r, g, b, a;
        public Color32(byte r, byte g, byte b, byte a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public static implicit operator Color(Color32 c) { return new Color(c.r / 255f, c.g / 255f, c.b / 255f, c.a / 255f); }
        public static implicit operator Color32(Color c) { return new Color32((byte)(c.r * 255), (byte)(c.g * 255), (byte)(c.b * 255), (byte)(c.a * 255)); }
    }

    public struct Bounds
    {
        public Vector3 center { get; set; }
        public Vector3 size { get; set; }
        public Bounds(Vector3 center, Vector3 size) { this.center = center; this.size = size; }
        public Vector3 extents { get { return size * 0.5f; } set { size = value * 2f; } }
        public Vector3 min { get { return center - extents; } }
        public Vector3 max { get { return center + extents; } }
        public bool Contains(Vector3 p) { Vector3 lo = min, hi = max; return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && p.z >= lo.z && p.z <= hi.z; }
        public void Encapsulate(Vector3 point) { }
    }

    public struct Ray
    {
        Vector3 m_Origin, m_Direction;
        public Ray(Vector3 origin, Vector3 direction) { m_Origin = origin; m_Direction = direction.normalized; }
        public Vector3 origin { get { return m_Origin; } set { m_Origin = value; } }
        public Vector3 direction { get { return m_Direction; } set { m_Direction = value.normalized; } }
        public Vector3 GetPoint(float distance) { return m_Origin + m_Direction * distance; }
    }

    public struct Ray2D
    {
        public Ray2D(Vector2 origin, Vector2 direction) { this.origin = origin; this.direction = direction; }
        public Vector2 origin { get; set; }
        public Vector2 direction { get; set; }
    }

    public struct RaycastHit
    {
        internal Collider m_Collider;
        public Vector3 point { get; set; }
        public Vector3 normal { get; set; }
        public float distance { get; set; }
        public Collider collider { get { return m_Collider; } }
        public Transform transform { get { return m_Collider == null ? null : m_Collider.transform; } }
        public Rigidbody rigidbody { get { return m_Collider == null ? null : m_Collider.attachedRigidbody; } }
        public Vector2 textureCoord { get { return Vector2.zero; } }
        public int triangleIndex { get { return -1; } }
    }

    public struct RaycastHit2D
    {
        public Vector2 point { get; set; }
        public Vector2 normal { get; set; }
        public float distance { get; set; }
        public float fraction { get; set; }
        public Collider2D collider { get { return null; } }
        public Transform transform { get { return null; } }
        public Rigidbody2D rigidbody { get { return null; } }
        public static implicit operator bool(RaycastHit2D hit) { return hit.collider != null; }
    }

    public struct LayerMask
    {
        int m_Mask;
        public int value { get { return m_Mask; } set { m_Mask = value; } }
        public static implicit operator int(LayerMask mask) { return mask.m_Mask; }
        public static implicit operator LayerMask(int intVal) { LayerMask m; m.m_Mask = intVal; return m; }
        public static int GetMask(params string[] layerNames) { return 0; }
        public static int NameToLayer(string layerName) { return layerName == "Default" ? 0 : -1; }
        public static string LayerToName(int layer) { return layer == 0 ? "Default" : ""; }
    }

    public static class Mathf
    {
        public const float PI = 3.14159274f;
        public const float Infinity = float.PositiveInfinity;
        public const float NegativeInfinity = float.NegativeInfinity;
        public const float Deg2Rad = 0.0174532924f;
        public const float Rad2Deg = 57.29578f;
        public static readonly float Epsilon = float.Epsilon;
        public static float Sin(float f) { return (float)Math.Sin(f); }
        public static float Cos(float f) { return (float)Math.Cos(f); }
        public static float Tan(float f) { return (float)Math.Tan(f); }
        public static float Asin(float f) { return (float)Math.Asin(f); }
        public static float Acos(float f) { return (float)Math.Acos(f); }
        public static float Atan(float f) { return (float)Math.Atan(f); }
        public static float Atan2(float y, float x) { return (float)Math.Atan2(y, x); }
        public static float Sqrt(float f) { return (float)Math.Sqrt(f); }
        public static float Abs(float f) { return Math.Abs(f); }
        public static int Abs(int value) { return Math.Abs(value); }
        public static float Min(float a, float b) { return a < b ? a : b; }
        public static float Min(params float[] values) { float m = values.Length > 0 ? values[0] : 0f; foreach (var v in values) if (v < m) m = v; return m; }
        public static int Min(int a, int b) { return a < b ? a : b; }
        public static int Min(params int[] values) { int m = values.Length > 0 ? values[0] : 0; foreach (var v in values) if (v < m) m = v; return m; }
        public static float Max(float a, float b) { return a > b ? a : b; }
        public static float Max(params float[] values) { float m = values.Length > 0 ? values[0] : 0f; foreach (var v in values) if (v > m) m = v; return m; }
        public static int Max(int a, int b) { return a > b ? a : b; }
        public static int Max(params int[] values) { int m = values.Length > 0 ? values[0] : 0; foreach (var v in values) if (v > m) m = v; return m; }
        public static float Pow(float f, float p) { return (float)Math.Pow(f, p); }
        public static float Exp(float power) { return (float)Math.Exp(power); }
        public static float Log(float f, float p) { return (float)Math.Log(f, p); }
        public static float Log(float f) { return (float)Math.Log(f); }
        public static float Log10(float f) { return (float)Math.Log10(f); }
        public static float Ceil(float f) { return (float)Math.Ceiling(f); }
        public static float Floor(float f) { return (float)Math.Floor(f); }
        public static float Round(float f) { return (float)Math.Round(f); }
        public static int CeilToInt(float f) { return (int)Math.Ceiling(f); }
        public static int FloorToInt(float f) { return (int)Math.Floor(f); }
        public static int RoundToInt(float f) { return (int)Math.Round(f); }
        public static float Sign(float f) { return f >= 0f ? 1f : -1f; }
        public static float Clamp(float value, float min, float max) { return value < min ? min : value > max ? max : value; }
        public static int Clamp(int value, int min, int max) { return value < min ? min : value > max ? max : value; }
        public static float Clamp01(float value) { return Clamp(value, 0f, 1f); }
        public static float Lerp(float a, float b, float t) { return a + (b - a) * Clamp01(t); }
        public static float LerpUnclamped(float a, float b, float t) { return a + (b - a) * t; }
        public static float InverseLerp(float a, float b, float value) { return a != b ? Clamp01((value - a) / (b - a)) : 0f; }
        public static float LerpAngle(float a, float b, float t) { float d = Repeat(b - a, 360f); if (d > 180f) d -= 360f; return a + d * Clamp01(t); }
        public static float MoveTowards(float current, float target, float maxDelta) { return Math.Abs(target - current) <= maxDelta ? target : current + Sign(target - current) * maxDelta; }
        public static float MoveTowardsAngle(float current, float target, float maxDelta) { float d = DeltaAngle(current, target); return -maxDelta < d && d < maxDelta ? target : MoveTowards(current, current + d, maxDelta); }
        public static float SmoothStep(float from, float to, float t) { t = Clamp01(t); t = -2f * t * t * t + 3f * t * t; return to * t + from * (1f - t); }
        public static float SmoothDamp(float current, float target, ref float currentVelocity, float smoothTime) { return SmoothDamp(current, target, ref currentVelocity, smoothTime, Infinity, Time.deltaTime); }
        public static float SmoothDamp(float current, float target, ref float currentVelocity, float smoothTime, float maxSpeed) { return SmoothDamp(current, target, ref currentVelocity, smoothTime, maxSpeed, Time.deltaTime); }
        public static float SmoothDamp(float current, float target, ref float currentVelocity, float smoothTime, float maxSpeed, float deltaTime)
        {
            smoothTime = Math.Max(0.0001f, smoothTime);
            float omega = 2f / smoothTime, x = omega * deltaTime, exp = 1f / (1f + x + 0.48f * x * x + 0.235f * x * x * x);
            float change = current - target, origTo = target, maxChange = maxSpeed * smoothTime;
            change = Clamp(change, -maxChange, maxChange);
            target = current - change;
            float temp = (currentVelocity + omega * change) * deltaTime;
            currentVelocity = (currentVelocity - omega * temp) * exp;
            float output = target + (change + temp) * exp;
            if (origTo - current > 0f == output > origTo) { output = origTo; currentVelocity = (output - origTo) / deltaTime; }
            return output;
        }
        public static float SmoothDampAngle(float current, float target, ref float currentVelocity, float smoothTime) { target = current + DeltaAngle(current, target); return SmoothDamp(current, target, ref currentVelocity, smoothTime); }
        public static float DeltaAngle(float current, float target) { float d = Repeat(target - current, 360f); if (d > 180f) d -= 360f; return d; }
        public static float Repeat(float t, float length) { return Clamp(t - (float)Math.Floor(t / length) * length, 0f, length); }
        public static float PingPong(float t, float length) { t = Repeat(t, length * 2f); return length - Math.Abs(t - length); }
        public static bool Approximately(float a, float b) { return Math.Abs(b - a) < Math.Max(1E-06f * Math.Max(Math.Abs(a), Math.Abs(b)), Epsilon * 8f); }
        public static float PerlinNoise(float x, float y) { return 0.5f + 0.5f * (float)Math.Sin(x * 12.9898 + y * 78.233); }
        public static bool IsPowerOfTwo(int value) { return value > 0 && (value & (value - 1)) == 0; }
        public static int ClosestPowerOfTwo(int value) { int p = 1; while (p * 2 <= value) p *= 2; return p; }
        public static int NextPowerOfTwo(int value) { int p = 1; while (p < value) p *= 2; return p; }
    }

    public sealed class Random
    {
        Random() { }
        public static float value { get { return (float)Sim.rng.NextDouble(); } }
        public static void InitState(int seed) { Sim.rng = new System.Random(seed); }
        public static float Range(float minInclusive, float maxInclusive) { return minInclusive + (maxInclusive - minInclusive) * value; }
        public static int Range(int minInclusive, int maxExclusive) { return maxExclusive <= minInclusive ? minInclusive : Sim.rng.Next(minInclusive, maxExclusive); }
        public static Vector3 insideUnitSphere { get { return onUnitSphere * value; } }
        public static Vector2 insideUnitCircle { get { float a = value * 2f * Mathf.PI, r = Mathf.Sqrt(value); return new Vector2(Mathf.Cos(a) * r, Mathf.Sin(a) * r); } }
        public static Vector3 onUnitSphere { get { return new Vector3(Range(-1f, 1f), Range(-1f, 1f), Range(-1f, 1f)).normalized; } }
        public static Quaternion rotation { get { return Quaternion.Euler(Range(0f, 360f), Range(0f, 360f), Range(0f, 360f)); } }
        public static Color ColorHSV() { return new Color(value, value, value); }
    }

    // ------------------------------------------------------------------ engine services
    public class Time
    {
        protected Time() { }
        public static float time { get { return Sim.inFixed ? Sim.fixedTime : Sim.time; } }
        public static float deltaTime { get { return Sim.inFixed ? Sim.fixedDeltaTime : Sim.deltaTime; } }
        public static float fixedDeltaTime { get { return Sim.fixedDeltaTime; } set { Sim.fixedDeltaTime = value; } }
        public static float fixedTime { get { return Sim.fixedTime; } }
        public static float timeScale { get { return Sim.timeScale; } set { Sim.timeScale = value; } }
        public static float unscaledDeltaTime { get { return Sim.deltaTime; } }
        public static float unscaledTime { get { return Sim.unscaledTime; } }
        public static float smoothDeltaTime { get { return Sim.deltaTime; } }
        public static float maximumDeltaTime { get; set; }
        public static float timeSinceLevelLoad { get { return Sim.time; } }
        public static float realtimeSinceStartup { get { return Sim.unscaledTime; } }
        public static double timeAsDouble { get { return Time.time; } }
        public static int frameCount { get { return Sim.frame + 1; } }
        public static int captureFramerate { get; set; }
        public static bool inFixedTimeStep { get { return Sim.inFixed; } }
    }

    public class Debug
    {
        protected Debug() { }
        static void Emit(object message) { Sim.Event("log", message == null ? "Null" : message.ToString()); }
        public static void Log(object message) { Emit(message); }
        public static void Log(object message, Object context) { Emit(message); }
        public static void LogFormat(string format, params object[] args) { Emit(string.Format(format, args)); }
        public static void LogFormat(Object context, string format, params object[] args) { Emit(string.Format(format, args)); }
        public static void LogWarning(object message) { Emit(message); }
        public static void LogWarning(object message, Object context) { Emit(message); }
        public static void LogWarningFormat(string format, params object[] args) { Emit(string.Format(format, args)); }
        public static void LogError(object message) { Emit(message); }
        public static void LogError(object message, Object context) { Emit(message); }
        public static void LogErrorFormat(string format, params object[] args) { Emit(string.Format(format, args)); }
        public static void LogException(Exception exception) { Emit(exception.Message); }
        public static void LogException(Exception exception, Object context) { Emit(exception.Message); }
        public static void LogAssertion(object message) { Emit(message); }
        public static void Assert(bool condition) { if (!condition) Emit("Assertion failed"); }
        public static void Assert(bool condition, object message) { if (!condition) Emit(message); }
        public static void Assert(bool condition, string message) { if (!condition) Emit(message); }
        public static void DrawLine(Vector3 start, Vector3 end) { }
        public static void DrawLine(Vector3 start, Vector3 end, Color color) { }
        public static void DrawLine(Vector3 start, Vector3 end, Color color, float duration) { }
        public static void DrawLine(Vector3 start, Vector3 end, Color color, float duration, bool depthTest) { }
        public static void DrawRay(Vector3 start, Vector3 dir) { }
        public static void DrawRay(Vector3 start, Vector3 dir, Color color) { }
        public static void DrawRay(Vector3 start, Vector3 dir, Color color, float duration) { }
        public static void DrawRay(Vector3 start, Vector3 dir, Color color, float duration, bool depthTest) { }
        public static void Break() { }
        public static bool isDebugBuild { get { return true; } }
    }

    public struct Touch
    {
        public int fingerId { get; set; }
        public Vector2 position { get; set; }
        public Vector2 deltaPosition { get; set; }
        public TouchPhase phase { get; set; }
        public int tapCount { get; set; }
    }

    public class Input
    {
        protected Input() { }
        static readonly Dictionary<string, KeyCode> Names = new Dictionary<string, KeyCode>
        {
            {"space", KeyCode.Space}, {"return", KeyCode.Return}, {"enter", KeyCode.Return}, {"escape", KeyCode.Escape},
            {"left shift", KeyCode.LeftShift}, {"up", KeyCode.UpArrow}, {"down", KeyCode.DownArrow},
            {"left", KeyCode.LeftArrow}, {"right", KeyCode.RightArrow}, {"tab", KeyCode.Tab},
        };
        static KeyCode Named(string name)
        {
            KeyCode k;
            if (Names.TryGetValue(name, out k)) return k;
            if (name.Length == 1 && char.IsLetterOrDigit(name[0]))
                return (KeyCode)Enum.Parse(typeof(KeyCode), char.IsDigit(name[0]) ? "Alpha" + name : name.ToUpperInvariant());
            throw new ArgumentException("Input Key named: " + name + " is unknown");
        }
        static readonly Dictionary<string, KeyCode> Buttons = new Dictionary<string, KeyCode>
        { {"Jump", KeyCode.Space}, {"Fire1", KeyCode.Mouse0}, {"Fire2", KeyCode.Mouse1}, {"Submit", KeyCode.Return}, {"Cancel", KeyCode.Escape} };
        static KeyCode Button(string name)
        {
            KeyCode k;
            if (Buttons.TryGetValue(name, out k)) return k;
            throw new ArgumentException("Input Button " + name + " is not setup.");
        }
        public static bool GetKey(KeyCode key) { return Sim.held.Contains(key); }
        public static bool GetKeyDown(KeyCode key) { return Sim.down.Contains(key); }
        public static bool GetKeyUp(KeyCode key) { return Sim.up.Contains(key); }
        public static bool GetKey(string name) { return GetKey(Named(name)); }
        public static bool GetKeyDown(string name) { return GetKeyDown(Named(name)); }
        public static bool GetKeyUp(string name) { return GetKeyUp(Named(name)); }
        public static bool GetButton(string buttonName) { return GetKey(Button(buttonName)); }
        public static bool GetButtonDown(string buttonName) { return GetKeyDown(Button(buttonName)); }
        public static bool GetButtonUp(string buttonName) { return GetKeyUp(Button(buttonName)); }
        public static bool GetMouseButton(int button) { return GetKey(KeyCode.Mouse0 + button); }
        public static bool GetMouseButtonDown(int button) { return GetKeyDown(KeyCode.Mouse0 + button); }
        public static bool GetMouseButtonUp(int button) { return GetKeyUp(KeyCode.Mouse0 + button); }
        static float Axis(KeyCode neg, KeyCode neg2, KeyCode pos, KeyCode pos2)
        {
            return (GetKey(pos) || GetKey(pos2) ? 1f : 0f) - (GetKey(neg) || GetKey(neg2) ? 1f : 0f);
        }
        public static float GetAxis(string axisName)
        {
            if (axisName == "Horizontal") return Axis(KeyCode.A, KeyCode.LeftArrow, KeyCode.D, KeyCode.RightArrow);
            if (axisName == "Vertical") return Axis(KeyCode.S, KeyCode.DownArrow, KeyCode.W, KeyCode.UpArrow);
            if (axisName == "Mouse X" || axisName == "Mouse Y" || axisName == "Mouse ScrollWheel") return 0f;
            if (axisName == "Jump" || axisName == "Fire1" || axisName == "Fire2" || axisName == "Submit" || axisName == "Cancel") return GetButton(axisName) ? 1f : 0f;
            throw new ArgumentException("Input Axis " + axisName + " is not setup.");
        }
        public static float GetAxisRaw(string axisName) { return GetAxis(axisName); }
        public static Vector3 mousePosition { get { return Vector3.zero; } }
        public static Vector2 mouseScrollDelta { get { return Vector2.zero; } }
        public static bool anyKey { get { return Sim.held.Count > 0; } }
        public static bool anyKeyDown { get { return Sim.down.Count > 0; } }
        public static string inputString { get { return ""; } }
        public static int touchCount { get { return 0; } }
        public static bool touchSupported { get { return false; } }
        public static Touch GetTouch(int index) { throw new ArgumentException("Index out of bounds."); }
        public static Touch[] touches { get { return new Touch[0]; } }
        public static Vector3 acceleration { get { return Vector3.zero; } }
        public static bool mousePresent { get { return true; } }
    }

    public class Application
    {
        protected Application() { }
        public static void Quit() { Sim.Event("quit", "0"); }
        public static void Quit(int exitCode) { Sim.Event("quit", exitCode.ToString()); }
        public static void OpenURL(string url) { }
        public static int targetFrameRate { get; set; }
        public static bool isPlaying { get { return true; } }
        public static bool isEditor { get { return false; } }
        public static bool isFocused { get { return true; } }
        public static bool isMobilePlatform { get { return false; } }
        public static bool runInBackground { get; set; }
        public static RuntimePlatform platform { get { return RuntimePlatform.LinuxPlayer; } }
        public static string dataPath { get { return "/sim/Data"; } }
        public static string persistentDataPath { get { return "/sim/persistent"; } }
        public static string streamingAssetsPath { get { return "/sim/StreamingAssets"; } }
        public static string version { get { return "1.0"; } }
        public static string productName { get { return "Sim"; } }
        public static string unityVersion { get { return "2021.3.0f1"; } }
    }

    public class Screen
    {
        protected Screen() { }
        public static int width { get { return 1920; } }
        public static int height { get { return 1080; } }
        public static float dpi { get { return 96f; } }
        public static bool fullScreen { get; set; }
        public static void SetResolution(int width, int height, bool fullscreen) { }
    }

    public class Cursor
    {
        protected Cursor() { }
        public static CursorLockMode lockState { get; set; }
        public static bool visible { get; set; }
    }

    public class PlayerPrefs
    {
        protected PlayerPrefs() { }
        static readonly Dictionary<string, object> Store = new Dictionary<string, object>();
        public static void SetInt(string key, int value) { Store[key] = value; }
        public static int GetInt(string key) { return GetInt(key, 0); }
        public static int GetInt(string key, int defaultValue) { object v; return Store.TryGetValue(key, out v) && v is int ? (int)v : defaultValue; }
        public static void SetFloat(string key, float value) { Store[key] = value; }
        public static float GetFloat(string key) { return GetFloat(key, 0f); }
        public static float GetFloat(string key, float defaultValue) { object v; return Store.TryGetValue(key, out v) && v is float ? (float)v : defaultValue; }
        public static void SetString(string key, string value) { Store[key] = value; }
        public static string GetString(string key) { return GetString(key, ""); }
        public static string GetString(string key, string defaultValue) { object v; return Store.TryGetValue(key, out v) && v is string ? (string)v : defaultValue; }
        public static bool HasKey(string key) { return Store.ContainsKey(key); }
        public static void DeleteKey(string key) { Store.Remove(key); }
        public static void DeleteAll() { Store.Clear(); }
        public static void Save() { }
    }

    public class Gizmos
    {
        protected Gizmos() { }
        public static Color color { get; set; }
        public static void DrawLine(Vector3 from, Vector3 to) { }
        public static void DrawRay(Vector3 from, Vector3 direction) { }
        public static void DrawRay(Ray r) { }
        public static void DrawSphere(Vector3 center, float radius) { }
        public static void DrawWireSphere(Vector3 center, float radius) { }
        public static void DrawCube(Vector3 center, Vector3 size) { }
        public static void DrawWireCube(Vector3 center, Vector3 size) { }
    }

    public class Physics
    {
        protected Physics() { }
        public static Vector3 gravity { get; set; }
        public const int DefaultRaycastLayers = -5;
        public const int AllLayers = -1;
        public const int IgnoreRaycastLayer = 4;
        // the simulated world has no colliders to hit: every query finds nothing
        public static bool Raycast(Vector3 origin, Vector3 direction) { return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, float maxDistance) { return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, float maxDistance, int layerMask) { return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, float maxDistance, int layerMask, QueryTriggerInteraction q) { return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, out RaycastHit hitInfo) { hitInfo = new RaycastHit(); return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, out RaycastHit hitInfo, float maxDistance) { hitInfo = new RaycastHit(); return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, out RaycastHit hitInfo, float maxDistance, int layerMask) { hitInfo = new RaycastHit(); return false; }
        public static bool Raycast(Vector3 origin, Vector3 direction, out RaycastHit hitInfo, float maxDistance, int layerMask, QueryTriggerInteraction q) { hitInfo = new RaycastHit(); return false; }
        public static bool Raycast(Ray ray) { return false; }
        public static bool Raycast(Ray ray, float maxDistance) { return false; }
        public static bool Raycast(Ray ray, float maxDistance, int layerMask) { return false; }
        public static bool Raycast(Ray ray, out RaycastHit hitInfo) { hitInfo = new RaycastHit(); return false; }
        public static bool Raycast(Ray ray, out RaycastHit hitInfo, float maxDistance) { hitInfo = new RaycastHit(); return false; }
        public static bool Raycast(Ray ray, out RaycastHit hitInfo, float maxDistance, int layerMask) { hitInfo = new RaycastHit(); return false; }
        public static RaycastHit[] RaycastAll(Ray ray) { return new RaycastHit[0]; }
        public static RaycastHit[] RaycastAll(Ray ray, float maxDistance) { return new RaycastHit[0]; }
        public static RaycastHit[] RaycastAll(Vector3 origin, Vector3 direction) { return new RaycastHit[0]; }
        public static RaycastHit[] RaycastAll(Vector3 origin, Vector3 direction, float maxDistance) { return new RaycastHit[0]; }
        public static RaycastHit[] RaycastAll(Vector3 origin, Vector3 direction, float maxDistance, int layerMask) { return new RaycastHit[0]; }
        public static bool Linecast(Vector3 start, Vector3 end) { return false; }
        public static bool Linecast(Vector3 start, Vector3 end, int layerMask) { return false; }
        public static bool Linecast(Vector3 start, Vector3 end, out RaycastHit hitInfo) { hitInfo = new RaycastHit(); return false; }
        public static bool SphereCast(Vector3 origin, float radius, Vector3 direction, out RaycastHit hitInfo) { hitInfo = new RaycastHit(); return false; }
        public static bool SphereCast(Vector3 origin, float radius, Vector3 direction, out RaycastHit hitInfo, float maxDistance) { hitInfo = new RaycastHit(); return false; }
        public static bool SphereCast(Ray ray, float radius, out RaycastHit hitInfo, float maxDistance) { hitInfo = new RaycastHit(); return false; }
        public static Collider[] OverlapSphere(Vector3 position, float radius) { return new Collider[0]; }
        public static Collider[] OverlapSphere(Vector3 position, float radius, int layerMask) { return new Collider[0]; }
        public static Collider[] OverlapSphere(Vector3 position, float radius, int layerMask, QueryTriggerInteraction q) { return new Collider[0]; }
        public static Collider[] OverlapBox(Vector3 center, Vector3 halfExtents) { return new Collider[0]; }
        public static Collider[] OverlapBox(Vector3 center, Vector3 halfExtents, Quaternion orientation) { return new Collider[0]; }
        public static int OverlapSphereNonAlloc(Vector3 position, float radius, Collider[] results) { return 0; }
        public static bool CheckSphere(Vector3 position, float radius) { return false; }
        public static bool CheckSphere(Vector3 position, float radius, int layerMask) { return false; }
        public static void IgnoreCollision(Collider collider1, Collider collider2) { }
        public static void IgnoreCollision(Collider collider1, Collider collider2, bool ignore) { }
        public static void IgnoreLayerCollision(int layer1, int layer2, bool ignore) { }
    }

    public class Physics2D
    {
        protected Physics2D() { }
        public static Vector2 gravity { get; set; }
        public static RaycastHit2D Raycast(Vector2 origin, Vector2 direction) { return new RaycastHit2D(); }
        public static RaycastHit2D Raycast(Vector2 origin, Vector2 direction, float distance) { return new RaycastHit2D(); }
        public static RaycastHit2D Raycast(Vector2 origin, Vector2 direction, float distance, int layerMask) { return new RaycastHit2D(); }
        public static Collider2D OverlapCircle(Vector2 point, float radius) { return null; }
        public static Collider2D OverlapCircle(Vector2 point, float radius, int layerMask) { return null; }
        public static Collider2D[] OverlapCircleAll(Vector2 point, float radius) { return new Collider2D[0]; }
    }

    // ------------------------------------------------------------------ components
    public class Collider : Component
    {
        internal bool m_Enabled = true;
        public bool enabled { get { return m_Enabled; } set { m_Enabled = value; } }
        public bool isTrigger { get; set; }
        public Rigidbody attachedRigidbody { get { return GetComponent<Rigidbody>(); } }
        public Bounds bounds { get { return new Bounds(transform.position, Vector3.one); } }
        public PhysicMaterial material { get; set; }
        public PhysicMaterial sharedMaterial { get; set; }
        public Vector3 ClosestPoint(Vector3 position) { return transform.position; }
        public bool Raycast(Ray ray, out RaycastHit hitInfo, float maxDistance) { hitInfo = new RaycastHit(); return false; }
    }
    public class PhysicMaterial : Object { public float bounciness { get; set; } public float dynamicFriction { get; set; } public float staticFriction { get; set; } }
    public class BoxCollider : Collider { public Vector3 size { get; set; } public Vector3 center { get; set; } }
    public class SphereCollider : Collider { public float radius { get; set; } public Vector3 center { get; set; } }
    public class CapsuleCollider : Collider { public float radius { get; set; } public float height { get; set; } public Vector3 center { get; set; } }
    public class MeshCollider : Collider { public bool convex { get; set; } }
    public class Collider2D : Behaviour { public bool isTrigger { get; set; } public Rigidbody2D attachedRigidbody { get { return GetComponent<Rigidbody2D>(); } } }
    public class BoxCollider2D : Collider2D { public Vector2 size { get; set; } }
    public class CircleCollider2D : Collider2D { public float radius { get; set; } }

    public struct ContactPoint
    {
        public Vector3 point { get; internal set; }
        public Vector3 normal { get; internal set; }
        public Collider thisCollider { get; internal set; }
        public Collider otherCollider { get; internal set; }
        public float separation { get; internal set; }
    }

    public struct ContactPoint2D
    {
        public Vector2 point { get; internal set; }
        public Vector2 normal { get; internal set; }
        public Collider2D collider { get; internal set; }
        public Collider2D otherCollider { get; internal set; }
    }

    public class Collision
    {
        internal GameObject m_Other;
        internal ContactPoint[] m_Contacts = new ContactPoint[0];
        public GameObject gameObject { get { return m_Other; } }
        public Collider collider { get { return m_Other.GetComponent<Collider>(); } }
        public Transform transform { get { return m_Other.transform; } }
        public Rigidbody rigidbody { get { return m_Other.GetComponent<Rigidbody>(); } }
        public Vector3 relativeVelocity { get; internal set; }
        public Vector3 impulse { get; internal set; }
        public ContactPoint[] contacts { get { return m_Contacts; } }
        public int contactCount { get { return m_Contacts.Length; } }
        public ContactPoint GetContact(int index) { return m_Contacts[index]; }
        public int GetContacts(ContactPoint[] contacts) { return 0; }
    }

    public class Collision2D
    {
        internal GameObject m_Other;
        public GameObject gameObject { get { return m_Other; } }
        public Collider2D collider { get { return m_Other.GetComponent<Collider2D>(); } }
        public Collider2D otherCollider { get { return null; } }
        public Transform transform { get { return m_Other.transform; } }
        public Rigidbody2D rigidbody { get { return m_Other.GetComponent<Rigidbody2D>(); } }
        public Vector2 relativeVelocity { get; internal set; }
        public ContactPoint2D[] contacts { get { return new ContactPoint2D[0]; } }
        public ContactPoint2D GetContact(int index) { return contacts[index]; }
    }

    public class Rigidbody : Component
    {
        internal Vector3 m_Velocity, m_AngularVelocity;
        public Vector3 velocity { get { return m_Velocity; } set { m_Velocity = value; } }
        public Vector3 angularVelocity { get { return m_AngularVelocity; } set { m_AngularVelocity = value; } }
        public float mass { get; set; }
        public float drag { get; set; }
        public float angularDrag { get; set; }
        public bool useGravity { get; set; }
        public bool isKinematic { get; set; }
        public bool freezeRotation { get; set; }
        public bool detectCollisions { get; set; }
        public float maxAngularVelocity { get; set; }
        public RigidbodyConstraints constraints { get; set; }
        public RigidbodyInterpolation interpolation { get; set; }
        public CollisionDetectionMode collisionDetectionMode { get; set; }
        public Vector3 centerOfMass { get; set; }
        public Vector3 position { get { return transform.position; } set { transform.position = value; } }
        public Quaternion rotation { get { return transform.rotation; } set { transform.rotation = value; } }
        public Rigidbody() { mass = 1f; useGravity = true; angularDrag = 0.05f; detectCollisions = true; }
        public void AddForce(Vector3 force) { AddForce(force, ForceMode.Force); }
        public void AddForce(Vector3 force, ForceMode mode)
        {
            if (isKinematic) return;
            float m = mass > 0f ? mass : 1f, dt = Sim.fixedDeltaTime;
            switch (mode)
            {
                case ForceMode.Force: m_Velocity += force * (dt / m); break;
                case ForceMode.Acceleration: m_Velocity += force * dt; break;
                case ForceMode.Impulse: m_Velocity += force / m; break;
                default: m_Velocity += force; break;
            }
        }
        public void AddForce(float x, float y, float z) { AddForce(new Vector3(x, y, z), ForceMode.Force); }
        public void AddForce(float x, float y, float z, ForceMode mode) { AddForce(new Vector3(x, y, z), mode); }
        public void AddRelativeForce(Vector3 force) { AddForce(transform.TransformDirection(force), ForceMode.Force); }
        public void AddRelativeForce(Vector3 force, ForceMode mode) { AddForce(transform.TransformDirection(force), mode); }
        public void AddRelativeForce(float x, float y, float z) { AddRelativeForce(new Vector3(x, y, z)); }
        public void AddForceAtPosition(Vector3 force, Vector3 position) { AddForce(force); }
        public void AddForceAtPosition(Vector3 force, Vector3 position, ForceMode mode) { AddForce(force, mode); }
        public void AddExplosionForce(float explosionForce, Vector3 explosionPosition, float explosionRadius) { AddExplosionForce(explosionForce, explosionPosition, explosionRadius, 0f, ForceMode.Force); }
        public void AddExplosionForce(float explosionForce, Vector3 explosionPosition, float explosionRadius, float upwardsModifier) { AddExplosionForce(explosionForce, explosionPosition, explosionRadius, upwardsModifier, ForceMode.Force); }
        public void AddExplosionForce(float explosionForce, Vector3 explosionPosition, float explosionRadius, float upwardsModifier, ForceMode mode)
        {
            Vector3 d = transform.position - explosionPosition;
            if (d.magnitude <= explosionRadius) AddForce(d.normalized * explosionForce, mode);
        }
        public void AddTorque(Vector3 torque) { AddTorque(torque, ForceMode.Force); }
        public void AddTorque(Vector3 torque, ForceMode mode) { m_AngularVelocity += mode == ForceMode.Force ? torque * Sim.fixedDeltaTime / (mass > 0f ? mass : 1f) : torque; }
        public void AddTorque(float x, float y, float z) { AddTorque(new Vector3(x, y, z)); }
        public void AddRelativeTorque(Vector3 torque) { AddTorque(transform.TransformDirection(torque)); }
        public void AddRelativeTorque(Vector3 torque, ForceMode mode) { AddTorque(transform.TransformDirection(torque), mode); }
        public void MovePosition(Vector3 position) { transform.position = position; }
        public void MoveRotation(Quaternion rot) { transform.rotation = rot; }
        public void Sleep() { }
        public void WakeUp() { }
        public bool IsSleeping() { return false; }
        internal void Step(float dt)
        {
            if (isKinematic) return;
            transform.position += m_Velocity * dt;
            if (m_AngularVelocity.sqrMagnitude > 0f)
                transform.rotation = Quaternion.AngleAxis(m_AngularVelocity.magnitude * dt * Mathf.Rad2Deg, m_AngularVelocity) * transform.rotation;
        }
    }

    public class Rigidbody2D : Component
    {
        public Vector2 velocity { get; set; }
        public float angularVelocity { get; set; }
        public float gravityScale { get; set; }
        public float mass { get; set; }
        public float drag { get; set; }
        public bool isKinematic { get; set; }
        public bool freezeRotation { get; set; }
        public RigidbodyType2D bodyType { get; set; }
        public Vector2 position { get { return transform.position; } set { transform.position = value; } }
        public float rotation { get; set; }
        public void AddForce(Vector2 force) { AddForce(force, ForceMode2D.Force); }
        public void AddForce(Vector2 force, ForceMode2D mode) { velocity += mode == ForceMode2D.Impulse ? force : force * Sim.fixedDeltaTime; }
        public void AddTorque(float torque) { }
        public void AddTorque(float torque, ForceMode2D mode) { }
        public void MovePosition(Vector2 position) { transform.position = position; }
        public void MoveRotation(float angle) { rotation = angle; }
    }

    public class CharacterController : Collider
    {
        public bool isGrounded { get { return false; } }
        public Vector3 velocity { get; internal set; }
        public float height { get; set; }
        public float radius { get; set; }
        public float slopeLimit { get; set; }
        public float stepOffset { get; set; }
        public Vector3 center { get; set; }
        public CollisionFlags Move(Vector3 motion) { transform.position += motion; return CollisionFlags.None; }
        public bool SimpleMove(Vector3 speed) { transform.position += speed * Time.deltaTime; return false; }
    }

    public class AudioClip : Object
    {
        public float length { get { return 1f; } }
        public int samples { get { return 44100; } }
        public int channels { get { return 1; } }
        public int frequency { get { return 44100; } }
    }

    public class AudioSource : Behaviour
    {
        public AudioClip clip { get; set; }
        public float volume { get; set; }
        public float pitch { get; set; }
        public bool loop { get; set; }
        public bool mute { get; set; }
        public bool playOnAwake { get; set; }
        public float spatialBlend { get; set; }
        public float time { get; set; }
        internal bool m_Playing;
        public bool isPlaying { get { return m_Playing; } }
        public AudioSource() { volume = 1f; pitch = 1f; playOnAwake = true; }
        public void Play() { m_Playing = clip != null; Sim.Event("sound", Sim.Name(clip)); }
        public void Play(ulong delay) { Play(); }
        public void PlayDelayed(float delay) { Play(); }
        public void PlayScheduled(double time) { Play(); }
        public void Stop() { m_Playing = false; }
        public void Pause() { m_Playing = false; }
        public void UnPause() { m_Playing = clip != null; }
        public void PlayOneShot(AudioClip clip) { PlayOneShot(clip, 1f); }
        public void PlayOneShot(AudioClip clip, float volumeScale)
        {
            if (clip == null) { Debug.LogWarning("PlayOneShot was called with a null AudioClip."); return; }
            Sim.Event("sound", clip.name);
        }
        public static void PlayClipAtPoint(AudioClip clip, Vector3 position) { PlayClipAtPoint(clip, position, 1f); }
        public static void PlayClipAtPoint(AudioClip clip, Vector3 position, float volume) { Sim.Event("sound", Sim.Name(clip)); }
    }

    public class Texture : Object { public int width { get { return 1; } } public int height { get { return 1; } } }
    public class Texture2D : Texture { public Texture2D(int width, int height) { } }
    public class Sprite : Object { }
    public class Mesh : Object { }
    public class Shader : Object { public static Shader Find(string name) { return new Shader(); } }
    public class Material : Object
    {
        public Material(Shader shader) { }
        public Material(Material source) { color = source.color; }
        public Color color { get; set; }
        public Texture mainTexture { get; set; }
        public Shader shader { get; set; }
        public void SetColor(string name, Color value) { if (name == "_Color") color = value; }
        public Color GetColor(string name) { return color; }
        public void SetFloat(string name, float value) { }
        public float GetFloat(string name) { return 0f; }
        public void SetInt(string name, int value) { }
        public void SetTexture(string name, Texture value) { }
        public void EnableKeyword(string keyword) { }
        public void DisableKeyword(string keyword) { }
    }
    public class Renderer : Component
    {
        internal Material m_Material;
        internal bool m_Enabled = true;
        public Material material { get { if (m_Material == null) m_Material = new Material((Shader)null); return m_Material; } set { m_Material = value; } }
        public Material sharedMaterial { get { return material; } set { material = value; } }
        public Material[] materials { get { return new Material[] { material }; } set { if (value.Length > 0) material = value[0]; } }
        public bool enabled { get { return m_Enabled; } set { m_Enabled = value; } }
        public bool isVisible { get { return m_Enabled; } }
        public Bounds bounds { get { return new Bounds(transform.position, Vector3.one); } }
        public int sortingOrder { get; set; }
    }
    public class MeshRenderer : Renderer { }
    public class SkinnedMeshRenderer : Renderer { }
    public class LineRenderer : Renderer
    {
        public int positionCount { get; set; }
        public float startWidth { get; set; }
        public float endWidth { get; set; }
        public Color startColor { get; set; }
        public Color endColor { get; set; }
        public void SetPosition(int index, Vector3 position) { }
    }
    public class TrailRenderer : Renderer { public float time { get; set; } public void Clear() { } }
    public class SpriteRenderer : Renderer
    {
        public Color color { get; set; }
        public Sprite sprite { get; set; }
        public bool flipX { get; set; }
        public bool flipY { get; set; }
        public SpriteRenderer() { color = Color.white; }
    }
    public class MeshFilter : Component { public Mesh mesh { get; set; } public Mesh sharedMesh { get; set; } }
    public class Light : Behaviour
    {
        public Color color { get; set; }
        public float intensity { get; set; }
        public float range { get; set; }
        public float spotAngle { get; set; }
        public LightType type { get; set; }
        public Light() { color = Color.white; intensity = 1f; range = 10f; type = LightType.Point; }
    }
    public class Animator : Behaviour
    {
        readonly Dictionary<string, object> m_Params = new Dictionary<string, object>();
        public float speed { get; set; }
        public bool applyRootMotion { get; set; }
        public Animator() { speed = 1f; }
        public void SetTrigger(string name) { m_Params[name] = true; }
        public void SetTrigger(int id) { }
        public void ResetTrigger(string name) { m_Params.Remove(name); }
        public void SetBool(string name, bool value) { m_Params[name] = value; }
        public void SetBool(int id, bool value) { }
        public bool GetBool(string name) { object v; return m_Params.TryGetValue(name, out v) && v is bool && (bool)v; }
        public void SetFloat(string name, float value) { m_Params[name] = value; }
        public void SetFloat(string name, float value, float dampTime, float deltaTime) { m_Params[name] = value; }
        public void SetFloat(int id, float value) { }
        public float GetFloat(string name) { object v; return m_Params.TryGetValue(name, out v) && v is float ? (float)v : 0f; }
        public void SetInteger(string name, int value) { m_Params[name] = value; }
        public void SetInteger(int id, int value) { }
        public int GetInteger(string name) { object v; return m_Params.TryGetValue(name, out v) && v is int ? (int)v : 0; }
        public void Play(string stateName) { }
        public void Play(string stateName, int layer) { }
        public void Play(string stateName, int layer, float normalizedTime) { }
        public void CrossFade(string stateName, float normalizedTransitionDuration) { }
        public static int StringToHash(string name) { return name.GetHashCode(); }
    }
    public class Camera : Behaviour
    {
        public static Camera main { get { var g = GameObject.FindGameObjectWithTag("MainCamera"); return g == null ? null : g.GetComponent<Camera>(); } }
        public static Camera current { get { return main; } }
        public float fieldOfView { get; set; }
        public float orthographicSize { get; set; }
        public bool orthographic { get; set; }
        public float nearClipPlane { get; set; }
        public float farClipPlane { get; set; }
        public Color backgroundColor { get; set; }
        public float aspect { get { return 16f / 9f; } }
        public Camera() { fieldOfView = 60f; orthographicSize = 5f; nearClipPlane = 0.3f; farClipPlane = 1000f; }
        public Vector3 ScreenToWorldPoint(Vector3 position) { return position; }
        public Vector3 WorldToScreenPoint(Vector3 position) { return position; }
        public Vector3 ViewportToWorldPoint(Vector3 position) { return position; }
        public Vector3 WorldToViewportPoint(Vector3 position) { return position; }
        public Ray ScreenPointToRay(Vector3 pos) { return new Ray(transform.position, transform.forward); }
        public Ray ViewportPointToRay(Vector3 pos) { return new Ray(transform.position, transform.forward); }
    }
    public class ParticleSystem : Component
    {
        internal bool m_Playing;
        public bool isPlaying { get { return m_Playing; } }
        public bool isStopped { get { return !m_Playing; } }
        public void Play() { m_Playing = true; }
        public void Play(bool withChildren) { m_Playing = true; }
        public void Stop() { m_Playing = false; }
        public void Stop(bool withChildren) { m_Playing = false; }
        public void Pause() { m_Playing = false; }
        public void Clear() { }
        public void Emit(int count) { }
    }
    public class ScriptableObject : Object
    {
        public static T CreateInstance<T>() where T : ScriptableObject { return (T)Activator.CreateInstance(typeof(T), true); }
        public static ScriptableObject CreateInstance(Type type) { return (ScriptableObject)Activator.CreateInstance(type, true); }
    }

    // ------------------------------------------------------------------ attributes
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute
    {
        internal Type[] Types;
        public RequireComponent(Type requiredComponent) { Types = new[] { requiredComponent }; }
        public RequireComponent(Type requiredComponent, Type requiredComponent2) { Types = new[] { requiredComponent, requiredComponent2 }; }
        public RequireComponent(Type requiredComponent, Type requiredComponent2, Type requiredComponent3) { Types = new[] { requiredComponent, requiredComponent2, requiredComponent3 }; }
    }
    [AttributeUsage(AttributeTargets.Field)] public sealed class SerializeField : Attribute { }
    [AttributeUsage(AttributeTargets.Field)] public sealed class HideInInspector : Attribute { }
    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)] public class HeaderAttribute : PropertyAttribute { public HeaderAttribute(string header) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class RangeAttribute : PropertyAttribute { public RangeAttribute(float min, float max) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class MinAttribute : PropertyAttribute { public MinAttribute(float min) { } }
    [AttributeUsage(AttributeTargets.Field)] public class TooltipAttribute : PropertyAttribute { public TooltipAttribute(string tooltip) { } }
    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)] public class SpaceAttribute : PropertyAttribute { public SpaceAttribute() { } public SpaceAttribute(float height) { } }
    [AttributeUsage(AttributeTargets.Field)] public class TextAreaAttribute : PropertyAttribute { public TextAreaAttribute() { } public TextAreaAttribute(int minLines, int maxLines) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class MultilineAttribute : PropertyAttribute { public MultilineAttribute() { } public MultilineAttribute(int lines) { } }
    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)] public abstract class PropertyAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class DisallowMultipleComponent : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class ExecuteInEditMode : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class ExecuteAlways : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class CreateAssetMenuAttribute : Attribute { public string fileName { get; set; } public string menuName { get; set; } public int order { get; set; } }
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)] public sealed class ContextMenu : Attribute { public ContextMenu(string itemName) { } }
    [AttributeUsage(AttributeTargets.Method)] public sealed class RuntimeInitializeOnLoadMethodAttribute : Attribute { }
}

namespace UnityEngine.SceneManagement
{
    public struct Scene
    {
        public string name { get { return "SampleScene"; } }
        public int buildIndex { get { return 0; } }
        public bool isLoaded { get { return true; } }
    }
    public enum LoadSceneMode { Single, Additive }
    public class SceneManager
    {
        protected SceneManager() { }
        public static Scene GetActiveScene() { return new Scene(); }
        public static int sceneCount { get { return 1; } }
        public static int sceneCountInBuildSettings { get { return 1; } }
        public static void LoadScene(string sceneName) { UnityEngine.Sim.Event("load_scene", sceneName); }
        public static void LoadScene(int sceneBuildIndex) { UnityEngine.Sim.Event("load_scene", sceneBuildIndex.ToString()); }
        public static void LoadScene(string sceneName, LoadSceneMode mode) { LoadScene(sceneName); }
        public static void LoadScene(int sceneBuildIndex, LoadSceneMode mode) { LoadScene(sceneBuildIndex); }
    }
}

namespace UnityEngine.Events
{
    public delegate void UnityAction();
    public delegate void UnityAction<T0>(T0 arg0);
    public class UnityEvent
    {
        readonly List<UnityAction> m_Calls = new List<UnityAction>();
        public void AddListener(UnityAction call) { m_Calls.Add(call); }
        public void RemoveListener(UnityAction call) { m_Calls.Remove(call); }
        public void RemoveAllListeners() { m_Calls.Clear(); }
        public void Invoke() { foreach (var c in m_Calls.ToArray()) c(); }
    }
    public class UnityEvent<T0>
    {
        readonly List<UnityAction<T0>> m_Calls = new List<UnityAction<T0>>();
        public void AddListener(UnityAction<T0> call) { m_Calls.Add(call); }
        public void RemoveListener(UnityAction<T0> call) { m_Calls.Remove(call); }
        public void RemoveAllListeners() { m_Calls.Clear(); }
        public void Invoke(T0 arg0) { foreach (var c in m_Calls.ToArray()) c(arg0); }
    }
}

namespace UnityEngine
{
    // ------------------------------------------------------------------ the frame loop
    internal static partial class Sim
    {
        const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

        internal static void Exception(Exception e)
        {
            while (e is TargetInvocationException && e.InnerException != null) e = e.InnerException;
            Event("exception", e.GetType().Name + ": " + e.Message);
        }

        internal static void Invoke(object target, MethodInfo m, object[] args)
        {
            object r;
            try { r = m.Invoke(target, args); }
            catch (Exception e) { Exception(e); return; }
            var mb = target as MonoBehaviour;
            if (r is IEnumerator && mb != null) mb.StartCoroutine((IEnumerator)r);
        }

        // a Unity message: a method of that name with no parameters (or the given argument)
        internal static void Call(Behaviour b, string name, object arg = null)
        {
            if (!(b is MonoBehaviour)) return;
            for (var t = b.GetType(); t != null && t != typeof(MonoBehaviour); t = t.BaseType)
            {
                var m = t.GetMethod(name, Any | BindingFlags.DeclaredOnly);
                if (m == null) continue;
                var ps = m.GetParameters();
                if (ps.Length == 0) Invoke(b, m, null);
                else if (ps.Length == 1 && arg != null && ps[0].ParameterType.IsInstanceOfType(arg)) Invoke(b, m, new[] { arg });
                return;
            }
        }

        internal static void AwakeOnce(Behaviour b)
        {
            if (b.m_Awoken) return;
            b.m_Awoken = true;
            Call(b, "Awake");
        }

        internal static List<MonoBehaviour> Live()
        {
            var list = new List<MonoBehaviour>();
            foreach (var g in world.ToArray())
                if (g.activeInHierarchy)
                    foreach (var c in g.m_Components.ToArray())
                    {
                        var mb = c as MonoBehaviour;
                        if (mb != null && mb.m_Enabled && !mb.m_Destroyed) list.Add(mb);
                    }
            return list;
        }

        internal static void StartPending()
        {
            foreach (var mb in Live()) if (!mb.m_Started) { mb.m_Started = true; Call(mb, "Start"); }
        }

        internal static void Routines(string phase)
        {
            foreach (var r in routines.ToArray())
            {
                if (r.done || !r.owner.isActiveAndEnabled) { if (r.owner.m_Destroyed || !r.owner.gameObject.activeInHierarchy) r.done = true; continue; }
                if (r.Ready(phase)) r.Step();
            }
            routines.RemoveAll(r => r.done);
        }

        internal static void Invokes()
        {
            foreach (var inv in invokes.ToArray())
            {
                if (inv.owner.m_Destroyed) { invokes.Remove(inv); continue; }
                if (time < inv.due - 1e-5f || !inv.owner.gameObject.activeInHierarchy) continue;
                var m = inv.owner.GetType().GetMethod(inv.method, Any);
                if (inv.rate > 0f) inv.due += inv.rate; else invokes.Remove(inv);
                if (m == null) { Debug.LogError("Trying to Invoke method: " + inv.owner.GetType().Name + "." + inv.method + " couldn't be called."); continue; }
                Invoke(inv.owner, m, null);
            }
        }

        internal static void Destroys()
        {
            foreach (var p in pending.ToArray())
            {
                if (time < p.due - 1e-5f) continue;
                pending.Remove(p);
                p.obj.DoDestroy();
            }
        }
    }
}

namespace AlmostSim
{
    using UnityEngine;

    // Runs MonoBehaviours through scripted scenarios; see almost_irgen.unitysim for the job format.
    public static class Runner
    {
        const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

        class Hit { public int frame; public string tag, name; public bool collision; }
        class Key { public int from, to; public KeyCode key; public bool press; }

        public static int Main(string[] args)
        {
            var lines = System.IO.File.ReadAllLines(args[0]);
            var output = new System.IO.StreamWriter(args[1]);
            Assembly asm = null;
            string cls = null, id = null, scen = null;
            int frames = 0, every = 5, off = -1, on = -1; float dt = 0.02f, fixedDt = 0.02f;
            var comps = new List<string>(); var objs = new List<string[]>(); var sets = new List<string[]>();
            var keys = new List<Key>(); var hits = new List<Hit>(); var watch = new List<string>(); var watchObj = new List<string>();
            string loadError = null;
            foreach (var raw in lines)
            {
                var p = raw.Split('\t');
                switch (p[0])
                {
                    case "program":
                        id = p[3]; cls = p[2]; loadError = null;
                        try { asm = Assembly.LoadFrom(p[1]); } catch (Exception e) { loadError = "cannot load: " + e.Message; }
                        break;
                    case "scenario":
                        scen = p[1]; frames = int.Parse(p[2]); dt = float.Parse(p[3], CultureInfo.InvariantCulture); every = int.Parse(p[4]);
                        fixedDt = p.Length > 5 ? float.Parse(p[5], CultureInfo.InvariantCulture) : dt; off = -1; on = -1;
                        comps.Clear(); objs.Clear(); sets.Clear(); keys.Clear(); hits.Clear(); watch.Clear(); watchObj.Clear();
                        break;
                    case "add": comps.Add(p[1]); break;
                    case "obj": objs.Add(p); break;
                    case "set": sets.Add(p); break;
                    case "key": keys.Add(new Key { key = (KeyCode)Enum.Parse(typeof(KeyCode), p[1]), from = int.Parse(p[2]), to = int.Parse(p[3]), press = p[4] == "press" }); break;
                    case "hit": hits.Add(new Hit { frame = int.Parse(p[1]), collision = p[2] == "collision", tag = p[3], name = p[4] }); break;
                    case "watch": watch.Add(p[1]); break;
                    case "watchobj": watchObj.Add(p[1]); break;
                    case "cycle": off = int.Parse(p[1]); on = int.Parse(p[2]); break;
                    case "run":
                        string result;
                        try { result = loadError != null ? Fail(id, scen, loadError) : Run(asm, cls, id, scen, frames, dt, fixedDt, every, off, on, comps, objs, sets, keys, hits, watch, watchObj); }
                        catch (Exception e) { while (e is TargetInvocationException && e.InnerException != null) e = e.InnerException; result = Fail(id, scen, e.GetType().Name + ": " + e.Message); }
                        output.WriteLine(result);
                        output.Flush();
                        break;
                }
            }
            output.Close();
            return 0;
        }

        static string Fail(string id, string scen, string why)
        {
            return "{\"id\":" + Json.Str(id) + ",\"scenario\":" + Json.Str(scen) + ",\"error\":" + Json.Str(why) + "}";
        }

        static object Parse(string type, string value)
        {
            switch (type)
            {
                case "int": return int.Parse(value, CultureInfo.InvariantCulture);
                case "float": return float.Parse(value, CultureInfo.InvariantCulture);
                case "bool": return value == "true";
                default: return value;
            }
        }

        static string Value(object v)
        {
            if (v == null) return "null";
            if (v is bool) return (bool)v ? "true" : "false";
            if (v is int || v is long || v is short) return Convert.ToInt64(v).ToString(CultureInfo.InvariantCulture);
            if (v is float || v is double) return Json.Num(Convert.ToDouble(v));
            if (v is Vector3) { var x = (Vector3)v; return "[" + Json.Num(x.x) + "," + Json.Num(x.y) + "," + Json.Num(x.z) + "]"; }
            var o = v as UnityEngine.Object;
            if (!ReferenceEquals(o, null)) return Json.Str(o ? o.name : "null");
            return Json.Str(v.ToString());
        }

        static bool TryField(object inst, string name, out object value)
        {
            value = null;
            for (var t = inst.GetType(); t != null && t != typeof(MonoBehaviour); t = t.BaseType)
            {
                var f = t.GetField(name, Any | BindingFlags.DeclaredOnly);
                if (f != null) { value = f.GetValue(inst); return true; }
                var pr = t.GetProperty(name, Any | BindingFlags.DeclaredOnly);
                if (pr != null && pr.CanRead) { try { value = pr.GetValue(inst, null); } catch { } return true; }
            }
            return false;
        }

        // as the inspector does: a field, or the serialized backing field of an auto-property
        // ([field: SerializeField]), or else a property's setter
        static bool SetField(object inst, string name, object value)
        {
            for (var t = inst.GetType(); t != null && t != typeof(MonoBehaviour); t = t.BaseType)
            {
                var f = t.GetField(name, Any | BindingFlags.DeclaredOnly) ?? t.GetField("<" + name + ">k__BackingField", Any | BindingFlags.DeclaredOnly);
                if (f != null)
                {
                    try { f.SetValue(inst, Convert.ChangeType(value, f.FieldType, CultureInfo.InvariantCulture)); return true; }
                    catch { try { f.SetValue(inst, value); return true; } catch { return false; } }
                }
                var pr = t.GetProperty(name, Any | BindingFlags.DeclaredOnly);
                if (pr != null && pr.CanWrite)
                {
                    try { pr.SetValue(inst, Convert.ChangeType(value, pr.PropertyType, CultureInfo.InvariantCulture), null); return true; }
                    catch { try { pr.SetValue(inst, value, null); return true; } catch { return false; } }
                }
            }
            return false;
        }

        static string Run(Assembly asm, string cls, string id, string scen, int frames, float dt, float fixedDt, int every, int off, int on,
                          List<string> comps, List<string[]> objs, List<string[]> sets, List<Key> keys, List<Hit> hits,
                          List<string> watch, List<string> watchObj)
        {
            Sim.Reset(dt, fixedDt);
            Type type = null;
            foreach (var t in asm.GetTypes()) if (t.Name == cls) type = t;
            if (type == null) return Fail(id, scen, "class " + cls + " not found");
            if (!typeof(MonoBehaviour).IsAssignableFrom(type)) return Fail(id, scen, "class " + cls + " does not derive from MonoBehaviour");
            if (type.IsAbstract) return Fail(id, scen, "class " + cls + " is abstract");
            var cam = new GameObject("Main Camera"); cam.tag = "MainCamera"; cam.AddComponent<Camera>();
            var go = new GameObject("self");
            go.AddComponent<BoxCollider>();
            foreach (var c in comps)
            {
                var ct = typeof(GameObject).Assembly.GetType("UnityEngine." + c);
                if (ct != null && go.GetComponent(ct) == null) go.AddComponent(ct);
            }
            foreach (RequireComponent req in type.GetCustomAttributes(typeof(RequireComponent), true))
                foreach (var t in req.Types) if (t != null && go.GetComponent(t) == null) go.AddComponent(t);
            MonoBehaviour mb;
            try { mb = (MonoBehaviour)Activator.CreateInstance(type, true); }
            catch (Exception e) { while (e is TargetInvocationException && e.InnerException != null) e = e.InnerException; return Fail(id, scen, "constructor threw " + e.GetType().Name + ": " + e.Message); }
            mb.m_GameObject = go; mb.m_Name = go.name;
            go.m_Components.Add(mb);
            // the inspector: objects for reference fields, then the scenario's values
            var assigned = new Dictionary<string, GameObject>();
            foreach (var o in objs)
            {
                string name = o[1], kind = o[2];
                object value;
                if (kind == "AudioClip") value = new AudioClip { name = name };
                else
                {
                    var g = new GameObject(name);
                    if (kind == "prefab") Sim.world.Remove(g);   // an asset, not in the scene
                    assigned[name] = g;
                    value = g;
                }
                if (!SetField(mb, name, value) && value is GameObject)
                {
                    // the field may be a Transform or a component of the object
                    var g = (GameObject)value;
                    var f = type.GetField(name, Any);
                    if (f != null && typeof(Component).IsAssignableFrom(f.FieldType))
                        f.SetValue(mb, f.FieldType == typeof(Transform) ? (object)g.transform : g.AddComponent(f.FieldType));
                }
            }
            foreach (var s in sets) SetField(mb, s[1], Parse(s[2], s[3]));
            Sim.AwakeOnce(mb);
            if (mb.isActiveAndEnabled) Sim.Call(mb, "OnEnable");
            var samples = new List<string>();
            var last = new Dictionary<string, string>();
            Watch(-1, mb, watch, watchObj, assigned, last);
            var due = new List<Hit>();
            int step = 0;  // physics steps taken: step n runs at fixedTime n * fixedDt, in the first frame whose time reaches it
            for (int f = 0; f < frames; f++)
            {
                Sim.frame = f; Sim.time = f * dt; Sim.unscaledTime = Sim.time;
                Sim.down.Clear(); Sim.up.Clear(); Sim.held.Clear();
                foreach (var k in keys)
                {
                    if (f >= k.from && f < k.to) Sim.held.Add(k.key);
                    if (k.press && f == k.from) Sim.down.Add(k.key);
                    if (k.press && f == k.to) Sim.up.Add(k.key);
                }
                if (f == off && !go.m_Destroyed) go.SetActive(false);  // the disable/enable cycle (a pool, a menu)
                if (f == on && !go.m_Destroyed) go.SetActive(true);
                foreach (var h in hits) if (h.frame == f) due.Add(h);
                Sim.StartPending();
                while (step * (double)fixedDt <= f * (double)dt + 1e-6)
                {
                    Sim.fixedTime = step * fixedDt; step++;
                    Sim.inFixed = true;
                    foreach (var b in Sim.Live()) Sim.Call(b, "FixedUpdate");
                    foreach (var g in Sim.world.ToArray())
                    {
                        var rb = g.GetComponent<Rigidbody>();
                        if (rb != null && g.activeInHierarchy) rb.Step(Sim.fixedDeltaTime);
                    }
                    foreach (var h in due)
                    {
                        if (go.m_Destroyed || !go.activeInHierarchy) continue;
                        var other = new GameObject(h.name); other.tag = h.tag;
                        var col = other.AddComponent<BoxCollider>();
                        other.AddComponent<Rigidbody>();
                        object arg;
                        if (h.collision) arg = new Collision { m_Other = other, relativeVelocity = Vector3.back };
                        else { col.isTrigger = true; arg = col; }
                        foreach (var c in go.m_Components.ToArray())
                        {
                            var b = c as MonoBehaviour;
                            if (b != null && !b.m_Destroyed) Sim.Call(b, h.collision ? "OnCollisionEnter" : "OnTriggerEnter", arg);
                        }
                    }
                    due.Clear();
                    Sim.Routines("fixed");
                    Sim.inFixed = false;
                }
                Sim.StartPending();
                foreach (var b in Sim.Live()) Sim.Call(b, "Update");
                Sim.Invokes();
                Sim.Routines("update");
                foreach (var b in Sim.Live()) Sim.Call(b, "LateUpdate");
                Sim.Routines("end");
                Sim.Destroys();
                Watch(f, mb, watch, watchObj, assigned, last);
                if (f % every == every - 1) samples.Add(Sample(f, go, mb, watch, watchObj, assigned));
            }
            // the end of play: the object is disabled (OnDisable runs), then the last sample
            Sim.frame = frames;
            if (!go.m_Destroyed && go.m_Active)
            {
                go.m_Active = false;
                foreach (var c in go.m_Components.ToArray()) { var b = c as Behaviour; if (b != null && b.m_Enabled) Sim.Call(b, "OnDisable"); }
            }
            Watch(frames, mb, watch, watchObj, assigned, last);
            samples.Add(Sample(frames, go, mb, watch, watchObj, assigned));
            return "{\"id\":" + Json.Str(id) + ",\"scenario\":" + Json.Str(scen) + ",\"error\":null,\"events\":[" +
                   string.Join(",", Sim.events.ToArray()) + "],\"samples\":[" + string.Join(",", samples.ToArray()) + "]}";
        }

        // a "field" / "active" event each time a watched field's value or a watched object's activeSelf changes
        static void Watch(int f, MonoBehaviour mb, List<string> watch, List<string> watchObj, Dictionary<string, GameObject> assigned,
                          Dictionary<string, string> last)
        {
            var prev = Sim.frame;
            Sim.frame = f;
            foreach (var name in watch)
            {
                object val;
                if (!TryField(mb, name, out val)) continue;
                var text = Value(val);
                string was;
                if (!last.TryGetValue("f " + name, out was) || was != text) { last["f " + name] = text; Sim.Event("field", name + "=" + text); }
            }
            foreach (var name in watchObj)
            {
                GameObject g;
                if (!assigned.TryGetValue(name, out g)) continue;
                var text = g.activeSelf ? "true" : "false";
                string was;
                if (!last.TryGetValue("a " + name, out was) || was != text) { last["a " + name] = text; Sim.Event("active", name + "=" + text); }
            }
            Sim.frame = prev;
        }

        static string Sample(int f, GameObject go, MonoBehaviour mb, List<string> watch, List<string> watchObj, Dictionary<string, GameObject> assigned)
        {
            var t = go.m_Transform;
            Vector3 p = t.position; Quaternion q = t.rotation;
            var rb = go.GetComponent<Rigidbody>();
            Vector3 v = rb != null ? rb.velocity : Vector3.zero;
            var b = new StringBuilder();
            b.Append("{\"f\":").Append(f).Append(",\"pos\":[").Append(Json.Num(p.x)).Append(',').Append(Json.Num(p.y)).Append(',').Append(Json.Num(p.z))
             .Append("],\"rot\":[").Append(Json.Num(q.x)).Append(',').Append(Json.Num(q.y)).Append(',').Append(Json.Num(q.z)).Append(',').Append(Json.Num(q.w))
             .Append("],\"vel\":[").Append(Json.Num(v.x)).Append(',').Append(Json.Num(v.y)).Append(',').Append(Json.Num(v.z)).Append("],\"fields\":{");
            bool first = true;
            foreach (var name in watch)
            {
                object val;
                if (!TryField(mb, name, out val)) continue;
                if (!first) b.Append(',');
                first = false;
                b.Append(Json.Str(name)).Append(':').Append(Value(val));
            }
            b.Append("},\"active\":{");
            first = true;
            foreach (var name in watchObj)
            {
                GameObject g;
                if (!assigned.TryGetValue(name, out g)) continue;
                if (!first) b.Append(',');
                first = false;
                b.Append(Json.Str(name)).Append(':').Append(g.activeSelf ? "true" : "false");
            }
            return b.Append("}}").ToString();
        }
    }
}
