"""Behaviour conformance that runs the code: does the C# do what its IR says?

Each program is compiled against the simulated ``UnityEngine`` (``data/UnityEngineStub.cs``:
real Transform maths, Rigidbody-lite, Time, scripted Input, trigger/collision calls,
Destroy/Instantiate, coroutines, Invoke) and driven by ``AlmostSim.Runner`` (mono) through
scenarios built from the IR: the keys its triggers and conditions need (plus decoy keys),
trigger/collision hits with the tags it tests (a decoy tag first), and, where a condition
compares a field, a second run with the field's value flipped. The same scenarios run
through :func:`expected`, a reference interpreter of the IR in Python, and every observable
is compared: the pose and velocity every few frames, the watched fields, which GameObjects
are active, and the events (spawn, destroy, sound, set_active, log, destroyed components,
exceptions) with their frames (±2 frames). ``custom`` ops carry free text and are not
checked (they are counted as unchecked).

The simulated world has no gravity and no colliders: physics queries find nothing, forces
change the velocity and the velocity moves the body. One frame is one physics step
(``dt = fixedDeltaTime = 0.02 s``).
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

DT = 0.02
EVERY = 5  # frames between samples
SLACK = 2  # frames an event or a field change may come early or late (timers: `>=` vs Invoke)
PER_FRAME = ("update", "fixed_update")  # triggers whose amounts are per second (× deltaTime)
_WATCH_TYPES = ("int", "float", "bool", "string")
_TRACKED = ("spawn", "destroy", "sound", "set_active", "destroy_component", "exception", "quit", "load_scene")
_UNITY_COMPONENTS = {"Rigidbody", "AudioSource", "Collider", "Renderer", "Light", "Animator"}


@attrs.define
class BehaviourResult:
    ok: bool
    failed: list[str] = attrs.Factory(list)  # one line per observable that differed
    unchecked_ops: int = 0  # custom ops (free text) that no run can check


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


# -- quaternions (x, y, z, w), Unity's conventions ----------------------------------------------
def _qmul(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by + ay * bw + az * bx - ax * bz,
            aw * bz + az * bw + ax * by - ay * bx, aw * bw - ax * bx - ay * by - az * bz)


def _axis_angle(axis, deg):
    n = math.sqrt(sum(c * c for c in axis)) or 1.0
    s, h = math.sin(math.radians(deg) / 2), math.cos(math.radians(deg) / 2)
    return (axis[0] / n * s, axis[1] / n * s, axis[2] / n * s, h)


def _qrot(q, v):
    x, y, z, w = q
    tx, ty, tz = 2 * (y * v[2] - z * v[1]), 2 * (z * v[0] - x * v[2]), 2 * (x * v[1] - y * v[0])
    return (v[0] + w * tx + (y * tz - z * ty), v[1] + w * ty + (z * tx - x * tz), v[2] + w * tz + (x * ty - y * tx))


def _qangle(a, b):
    d = min(1.0, abs(sum(x * y for x, y in zip(a, b))))
    return math.degrees(2 * math.acos(d))


_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


# -- scenarios -----------------------------------------------------------------------------------
def _cmp(a: float, op: str, b: float) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def _field_types(ir: dict) -> dict[str, str]:
    return {f["name"]: f["type"] for f in ir.get("fields", [])}


def _defaults(ir: dict) -> dict:
    out = {}
    for f in ir.get("fields", []):
        d = f.get("default")
        t = f["type"]
        out[f["name"]] = (int(d or 0) if t == "int" else float(d or 0) if t == "float" else bool(d) if t == "bool"
                          else (d or "") if t == "string" else d)
    return out


def scenarios(ir: dict) -> list[dict]:
    """The runs that exercise ``ir``: its keys, hits and (flipped) compared fields, with decoys."""
    behs = ir["behaviours"]
    timers = [b["trigger"]["interval_s"] for b in behs if b["trigger"]["event"] == "timer"]
    delays = [a.get("delay_s", 0) for b in behs for a in b["actions"] if a["op"] == "destroy"]
    frames = 100
    if timers or delays:
        frames = max(frames, math.ceil((2.5 * max(timers + delays)) / DT) + 5)
    frames = min(frames, 700)
    keys: list[tuple[str, int, int, bool]] = []
    down = sorted({b["trigger"]["key"] for b in behs if b["trigger"]["event"] == "key_down"})
    for i, k in enumerate(down):
        keys.append((k, 10 + 3 * i, 12 + 3 * i, True))
    held = sorted({b["condition"]["key"] for b in behs if (b.get("condition") or {}).get("kind") == "key_held"})
    for k in held:
        keys.append((k, 30, 60, True))
    keys.append(("P", 40, 42, True))  # decoys: a program reacting to any key fires here
    keys.append(("O", 70, 80, True))
    hits: list[tuple[int, str, str, str]] = []
    n = 0
    for kind, event, frame in (("trigger", "on_trigger_enter", 20), ("collision", "on_collision_enter", 22)):
        bs = [b for b in behs if b["trigger"]["event"] == event]
        if not bs:
            continue
        tags = sorted({b["condition"]["tag"] for b in bs if (b.get("condition") or {}).get("kind") == "tag"}) or ["Player"]
        n += 1
        hits.append((frame, kind, "Decoy", f"other{n}"))
        for j, t in enumerate(tags):
            n += 1
            hits.append((frame + 5 + 6 * j, kind, t, f"other{n}"))
    base = {"name": "main", "frames": frames, "keys": keys, "hits": hits, "sets": {}}
    out = [base]
    types, values = _field_types(ir), _defaults(ir)
    flips = {}
    for b in behs:
        c = b.get("condition")
        if c and c["kind"] == "compare" and c["field"] not in flips:
            v = values[c["field"]]
            holds = _cmp(v, c["cmp"], c["value"])
            for cand in (c["value"], c["value"] + 1, c["value"] - 1, c["value"] + 10, c["value"] - 10):
                if _cmp(cand, c["cmp"], c["value"]) != holds:
                    flips[c["field"]] = int(cand) if types[c["field"]] == "int" else float(cand)
                    break
    if flips:
        out.append({**base, "name": "flipped", "sets": flips})
    return out


# -- the reference interpreter ------------------------------------------------------------------
def expected(ir: dict, sc: dict) -> dict:
    """What a program that follows ``ir`` shows in scenario ``sc`` (same shape as the runner's)."""
    fields = _defaults(ir)
    fields.update(sc["sets"])
    types = _field_types(ir)
    comps = set(ir.get("components", []))
    st = {"pos": (0.0, 0.0, 0.0), "rot": (0.0, 0.0, 0.0, 1.0), "vel": (0.0, 0.0, 0.0), "path": 0.0, "turn": 0.0}
    events: list[list] = []
    active = {}
    for b in ir["behaviours"]:
        for a in b["actions"]:
            if a["op"] == "set_active":
                active[a["target_field"]] = True
    pending: list[tuple[float, str]] = []
    timers: dict[int, float] = {}
    alive = True
    frame = 0
    gone = None  # the frame the object was destroyed in
    gone_others: set[str] = set()

    def num(ref):
        return float(fields[ref]) if isinstance(ref, str) else float(ref)

    def act(a: dict, event: str, other: str | None, time: float) -> None:
        op = a["op"]
        scale = DT if event in PER_FRAME else 1.0
        if op == "rotate":
            deg = num(a["degrees_per_second"]) * scale
            st["rot"] = _qmul(st["rot"], _axis_angle(_AXES[a["axis"]], deg))
            st["turn"] += abs(deg)
        elif op == "translate":
            s = num(a["speed"]) * scale
            d = _qrot(st["rot"], tuple(c * s for c in a["direction"]))
            st["pos"] = tuple(p + q for p, q in zip(st["pos"], d))
            st["path"] += math.sqrt(sum(c * c for c in d))
        elif op == "apply_force":
            k = DT if a.get("mode", "Force") == "Force" else 1.0
            st["vel"] = tuple(v + f * k for v, f in zip(st["vel"], a["force"]))
        elif op == "spawn":
            events.append([frame, "spawn", a["prefab_field"]])
        elif op == "destroy":
            target = "self" if a["target"] == "self" else other
            pending.append((time + a.get("delay_s", 0), target))
        elif op == "play_sound":
            events.append([frame, "sound", a["clip_field"]])
        elif op == "set_active":
            events.append([frame, "set_active", f"{a['target_field']}={'true' if a['active'] else 'false'}"])
            active[a["target_field"]] = a["active"]
        elif op == "set_field":
            f, v = a["field"], a["value"]
            if a.get("mode") == "add":
                fields[f] = fields[f] + v if types[f] == "int" else _f32(fields[f] + v)
            else:
                fields[f] = int(v) if types[f] == "int" else float(v) if types[f] == "float" else v
        elif op == "log":
            events.append([frame, "log", a["message"]])

    def cond_ok(b: dict, held: set, other_tag: str | None) -> bool:
        c = b.get("condition")
        if not c:
            return True
        if c["kind"] == "compare":
            return _cmp(fields[c["field"]], c["cmp"], c["value"])
        if c["kind"] == "tag":
            return other_tag == c["tag"]
        return c["key"] in held

    def run(event: str, held: set, time: float, down: set = frozenset(), other=None) -> None:
        for i, b in enumerate(ir["behaviours"]):
            trig = b["trigger"]
            ev = trig["event"]
            if ev in ("key_down", "timer"):
                if event != "update":
                    continue
                if ev == "key_down":
                    if trig["key"] not in down or not cond_ok(b, held, None):
                        continue
                else:
                    timers[i] = _f32(timers.get(i, 0.0) + DT)
                    if not (timers[i] >= _f32(trig["interval_s"]) and cond_ok(b, held, None)):
                        continue
                    timers[i] = 0.0
            elif ev != event:
                continue
            elif not cond_ok(b, held, other[1] if other else None):
                continue
            for a in b["actions"]:
                act(a, ev, other[0] if other else None, time)

    samples = []
    trace: list[dict] = []  # the watched fields after every frame (timers may fire a frame apart)

    def sample(f: int) -> None:
        samples.append({"f": f, "pos": list(st["pos"]), "rot": list(st["rot"]), "vel": list(st["vel"]),
                        "path": st["path"], "turn": st["turn"],
                        "fields": {k: v for k, v in fields.items() if types[k] in _WATCH_TYPES},
                        "active": dict(active)})

    run("awake", set(), 0.0)
    run("on_enable", set(), 0.0)
    for frame in range(sc["frames"]):
        time = frame * DT
        held = {k for k, a, b, _ in sc["keys"] if a <= frame < b}
        down = {k for k, a, _, press in sc["keys"] if press and a == frame}
        if alive:
            if frame == 0:
                run("start", held, time)
            run("fixed_update", held, time)
            if "Rigidbody" in comps:
                st["pos"] = tuple(p + v * DT for p, v in zip(st["pos"], st["vel"]))
                st["path"] += math.sqrt(sum(v * v for v in st["vel"])) * DT
            for hf, kind, tag, name in sc["hits"]:
                if hf == frame:
                    run("on_trigger_enter" if kind == "trigger" else "on_collision_enter", held, time, other=(name, tag))
            run("update", held, time, down)
        for due, target in list(pending):
            if time >= due - 1e-5:
                pending.remove((due, target))
                if target == "self":
                    if alive:
                        events.append([frame, "destroy", "self"])
                        gone = frame
                        run("on_disable", held, time)
                        alive = False
                elif target is not None and target not in gone_others:  # destroying twice destroys once
                    gone_others.add(target)
                    events.append([frame, "destroy", target])
        trace.append({k: v for k, v in fields.items() if types[k] in _WATCH_TYPES})
        if frame % EVERY == EVERY - 1:
            sample(frame)
    frame = sc["frames"]
    if alive:
        run("on_disable", set(), frame * DT)
    sample(frame)
    trace.append(dict(samples[-1]["fields"]))
    return {"events": events, "samples": samples, "trace": trace, "frames": sc["frames"], "destroyed": gone}


# -- the runner ----------------------------------------------------------------------------------
def _job_lines(ir: dict, dll: Path, ident: str) -> list[str]:
    lines = [f"program\t{dll}\t{ir['class_name']}\t{ident}"]
    types = _field_types(ir)
    prefabs = {a["prefab_field"] for b in ir["behaviours"] for a in b["actions"] if a["op"] == "spawn"}
    scene = {a["target_field"] for b in ir["behaviours"] for a in b["actions"] if a["op"] == "set_active"}
    for sc in scenarios(ir):
        lines.append(f"scenario\t{sc['name']}\t{sc['frames']}\t{DT}\t{EVERY}")
        for c in ir.get("components", []):
            if c in _UNITY_COMPONENTS:
                lines.append(f"add\t{'BoxCollider' if c == 'Collider' else 'MeshRenderer' if c == 'Renderer' else c}")
        for name, t in types.items():
            if t == "AudioClip":
                lines.append(f"obj\t{name}\tAudioClip")
            elif t == "GameObject":
                lines.append(f"obj\t{name}\t{'prefab' if name in prefabs and name not in scene else 'GameObject'}")
        for name, v in sc["sets"].items():
            lines.append(f"set\t{name}\t{types[name]}\t{v}")
        for k, a, b, press in sc["keys"]:
            lines.append(f"key\t{k}\t{a}\t{b}\t{'press' if press else 'hold'}")
        for f, kind, tag, name in sc["hits"]:
            lines.append(f"hit\t{f}\t{kind}\t{tag}\t{name}")
        for name, t in types.items():
            if t in _WATCH_TYPES:
                lines.append(f"watch\t{name}")
        for name in sorted(scene):
            lines.append(f"watchobj\t{name}")
        lines.append("run")
    return lines


def _run_jobs(tools: Path, jobs: list[tuple[str, list[str]]], timeout_s: float) -> dict[str, list[dict]]:
    """Program id → its scenario results; a program that hangs gets an error result."""
    mono = shutil.which("mono") or "mono"
    out: dict[str, list[dict]] = {}
    todo = list(jobs)
    while todo:
        with tempfile.TemporaryDirectory(prefix="almost-sim-") as tmp:
            job, res = Path(tmp) / "job.txt", Path(tmp) / "out.jsonl"
            job.write_text("\n".join(line for _, lines in todo for line in lines) + "\n", encoding="utf-8")
            try:
                subprocess.run([mono, str(tools / "SimRunner.exe"), str(job), str(res)], capture_output=True,
                               timeout=timeout_s + 1.0 * len(todo), cwd=tools)
            except subprocess.TimeoutExpired:
                pass
            got = []
            if res.is_file():
                for line in res.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        got.append(json.loads(line))
                    except json.JSONDecodeError:
                        break
        for r in got:
            out.setdefault(r["id"], []).append(r)
        n_done = 0
        for ident, lines in todo:
            if len(out.get(ident, [])) == sum(1 for ln in lines if ln == "run"):
                n_done += 1
            else:
                break
        if n_done == len(todo):
            break
        hung = todo[n_done][0]  # the first unfinished program hung (or crashed the runner)
        out[hung] = [{"id": hung, "scenario": "main", "error": "did not finish (an endless loop?)"}]
        todo = todo[n_done + 1:]
    return out


def compare(ir: dict, sc: dict, got: dict) -> list[str]:
    """Lines naming each observable where ``got`` (the runner's) differs from :func:`expected`."""
    if got.get("error"):
        return [f"{sc['name']}: {got['error']}"]
    exp = expected(ir, sc)
    fails: list[str] = []
    where = f"{sc['name']} run"
    ops = {a["op"] for b in ir["behaviours"] for a in b["actions"]}
    for e_s, g_s in zip(exp["samples"], got["samples"]):
        f = e_s["f"]
        moving = exp["destroyed"] is None or f < exp["destroyed"] - SLACK  # a destroyed object has no pose
        dp = math.dist(e_s["pos"], g_s["pos"]) if moving else 0.0
        if dp > 0.05 + 0.05 * e_s["path"]:
            fails.append(f"{where}: position at frame {f} is {_fmt(g_s['pos'])}, expected {_fmt(e_s['pos'])}"
                         f" ({'translate' if 'translate' in ops else 'no movement'})")
        da = _qangle(e_s["rot"], g_s["rot"]) if moving else 0.0
        if da > 3.0 + 0.05 * e_s["turn"]:
            fails.append(f"{where}: rotation at frame {f} is off by {da:.0f}° ({'rotate' if 'rotate' in ops else 'no rotation'})")
        dv = math.dist(e_s["vel"], g_s["vel"]) if moving else 0.0
        if dv > 0.05 + 0.05 * math.hypot(*e_s["vel"]):
            fails.append(f"{where}: velocity at frame {f} is {_fmt(g_s['vel'])}, expected {_fmt(e_s['vel'])} (apply_force)")
        near = exp["trace"][max(0, f - SLACK):f + SLACK + 1]
        for name, v in e_s["fields"].items():
            if name not in g_s["fields"]:
                fails.append(f"{where}: field {name} is missing")
            elif not any(_same(t[name], g_s["fields"][name]) for t in near):
                fails.append(f"{where}: field {name} at frame {f} is {g_s['fields'][name]!r}, expected {v!r}")
        for name, v in e_s["active"].items():
            if g_s["active"].get(name) != v:
                fails.append(f"{where}: {name}.activeSelf at frame {f} is {g_s['active'].get(name)}, expected {v}")
        if fails:
            break  # the first frame that differs says enough
    fails += _compare_events(exp["events"], [e for e in got["events"] if e[1] in _TRACKED or e[1] == "log"], where,
                             exp["frames"])
    return fails


def _fmt(v) -> str:
    return "(" + ", ".join(f"{x:.2f}" for x in v) + ")"


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 0.01 + 1e-3 * abs(float(a))


def _compare_events(exp: list, got: list, where: str, frames: int, slack: int = 2) -> list[str]:
    left = list(got)
    fails = []
    for f, kind, detail in exp:
        match = next((g for g in left if g[1] == kind and g[2] == detail and abs(g[0] - f) <= slack), None)
        if match is None and f >= frames - slack:
            continue  # at the very end: a correct program may do it a frame after the run stops
        if match is None:
            when = [g[0] for g in got if g[1] == kind and g[2] == detail]
            fails.append(f"{where}: expected {kind} {detail!r} at frame {f}" +
                         (f", got it at frame(s) {when[:5]}" if when else ", it never happened"))
        else:
            left.remove(match)
    for f, kind, detail in left:
        if kind != "log" and f < frames - slack:  # extra log lines are harmless
            fails.append(f"{where}: unexpected {kind} {detail!r} at frame {f}")
    return fails[:6]


class BehaviourChecker:
    """Compile and run programs in the simulated Unity; one :class:`BehaviourResult` each."""

    def __init__(self, compiler=None, timeout_s: float = 5.0) -> None:
        from .csharp import MonoCompiler

        self.compiler = compiler if compiler is not None else MonoCompiler()
        if not getattr(self.compiler, "compiles", False):
            raise ValueError("the behaviour check needs mcs and mono")
        self.timeout_s = timeout_s

    def check(self, irs: Sequence[dict], codes: Sequence[str]) -> list[BehaviourResult]:
        return self.compile_and_check(irs, codes)[1]

    def compile_and_check(self, irs: Sequence[dict], codes: Sequence[str]) -> tuple[list, list[BehaviourResult]]:
        """The compiler's results and the behaviour results, each program compiled once for both."""
        unchecked = [sum(a["op"] == "custom" for b in ir["behaviours"] for a in b["actions"]) for ir in irs]
        with tempfile.TemporaryDirectory(prefix="almost-behave-") as tmp:
            results = self.compiler.check(codes, keep_dir=tmp)
            jobs, out = [], [None] * len(irs)
            for i, (ir, r) in enumerate(zip(irs, results)):
                if not r.ok or r.dll is None:
                    out[i] = BehaviourResult(False, [f"does not compile: {r.describe()}"], unchecked[i])
                else:
                    jobs.append((str(i), _job_lines(ir, r.dll, str(i))))
            ran = _run_jobs(self.compiler.tools, jobs, self.timeout_s) if jobs else {}
        for ident, _ in jobs:
            i = int(ident)
            ir = irs[i]
            fails = []
            got = {g.get("scenario"): g for g in ran.get(ident, [])}
            for sc in scenarios(ir):
                g = got.get(sc["name"]) or got.get("main")
                if g is None:
                    fails.append(f"{sc['name']}: no result")
                    continue
                fails += compare(ir, sc, g)
                if g.get("error"):
                    break
            out[i] = BehaviourResult(not fails, fails, unchecked[i])
        return results, out  # type: ignore[return-value]


# -- the hand-written corpus -------------------------------------------------------------------
@attrs.define
class CorpusProgram:
    spec: str  # the corpus file's stem
    label: str  # "ok", "bad" or "ambiguous"
    what: str  # the one-line comment
    code: str
    ir: dict


def read_corpus(folder: str | Path) -> list[CorpusProgram]:
    """Programs of ``*.corpus`` files: a spec's JSON, then ``//// ok|bad|ambiguous: what`` + C#."""
    out = []
    for path in sorted(Path(folder).glob("*.corpus")):
        text = path.read_text(encoding="utf-8")
        head, _, rest = text.partition("\n////")
        ir = json.loads(head)
        for chunk in ("////" + rest).split("\n////")[0:]:
            chunk = chunk.removeprefix("////")
            first, _, code = chunk.partition("\n")
            label, _, what = first.strip().partition(":")
            if label.strip() not in ("ok", "bad", "ambiguous"):
                raise ValueError(f"{path.name}: a program must open with '//// ok|bad|ambiguous: ...', not {first!r}")
            out.append(CorpusProgram(path.stem, label.strip(), what.strip(), code, ir))
    return out
