"""Behaviour conformance that runs the code: does the C# do what its IR says?

Each program is compiled against the simulated ``UnityEngine`` (``data/UnityEngineStub.cs``:
real Transform maths, Rigidbody-lite, Time, scripted Input, trigger/collision calls,
Destroy/Instantiate, coroutines, Invoke) and driven by ``AlmostSim.Runner`` (mono) through
scenarios built from the IR, in simulated real time. The same scenarios run through
:func:`expected`, a reference interpreter of the IR in Python, and what a player could observe
is compared: the pose and velocity, the watched fields and which objects are active (by state,
every frame, not by the calls that set them), and the events (spawn, destroy, sound, log,
destroyed components, exceptions), where an extra copy counts against the program as much as a
missing one. ``custom`` ops carry free text and are not checked (they are counted as unchecked).

No run leaves a free pass (:func:`scenarios`):

* key presses last 0.2 s (``GetKeyDown``, ``GetKey`` and ``GetKeyUp`` differ by 10 frames),
  come four times, and two of them overlap a key that a ``key_held`` condition wants; two
  decoy keys are pressed too;
* each hit comes twice between two decoy tags, so "set" and "add" differ;
* every int/float field gets a run of its own with another value (a compared field: the value
  that flips the comparison), so a hard-coded constant fails;
* one run has 80 frames per second against 50 physics steps (``Time.fixedDeltaTime`` in
  ``Update``, ``GetKeyDown`` read in ``FixedUpdate`` fail there);
* specs with awake/start/on_enable/on_disable triggers get a disable/enable cycle (not those
  with timers: whether a timer runs on, pauses or restarts while its object is inactive depends
  on the idiom, and the spec does not say).

Timing is judged in time, not in frames: the k-th tick of a timer is due at k × interval and
may come one frame early (an accumulator counts the first frame's deltaTime) and up to one
frame late per tick (a timer that resets to 0 loses the remainder each time), so any
interval works; an effect may lag its cause by one physics step (input read in ``Update``,
force applied in ``FixedUpdate``) or lead it by one (a timer a frame early). So a state observed
after a frame is matched against the reference's states in that window (positions and
velocities per axis), and an event against its window; what the reference does after the
program has destroyed its own object (within its window) cannot be seen and is not asked for. A timer with a condition that changes during a run has two
readings (the rule generator's accumulator fires as soon as the condition holds again;
``InvokeRepeating`` with an ``if`` inside waits for the next tick): either passes.

The simulated world has no gravity and no colliders: physics queries find nothing, forces
change the velocity and the velocity moves the body. The physics step is 0.02 s.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

# re-exported: the behaviour corpus is read in almost_irgen.corpus
from .corpus import CorpusProgram as CorpusProgram
from .corpus import read_corpus as read_corpus
from .ops import op

DT = 0.02  # the physics step (Time.fixedDeltaTime), and the frame time of most runs
ALT_DT = 0.0125  # the frame time of the run where frames and physics steps differ (80 fps)
EVERY = 5  # frames between pose samples
OVERRUN = 2  # frames the reference runs past the end of a run (see expected)
BASE_S = 2.0  # seconds a run lasts at least
# Inputs come at 0.1 × m + 0.01 s: at 50 fps never in a frame where a timer with an interval on the
# 0.05 s grid ticks (on time or a frame early), at 80 fps in frames without a physics step.
PRESSES = (0.21, 0.71, 1.11, 1.61)  # a key_down key goes down at these times ...
PRESS_S = 0.2  # ... for this long: GetKeyUp comes 10 frames after GetKeyDown
HELD = (0.61, 1.31)  # a key_held key is down in this window: the 2nd and 3rd presses overlap it
DECOYS = ("A", "P", "Return", "Space", "Mouse0", "O")  # the first two keys the spec does not use
DECOY_AT = (0.31, 1.01)
LIFECYCLE = ("awake", "start", "on_enable", "on_disable")
PER_FRAME = ("update", "fixed_update")  # triggers whose amounts are per second (× deltaTime)
_WATCH_TYPES = ("int", "float", "bool", "string")
_TRACKED = ("spawn", "destroy", "sound", "log", "destroy_component", "exception", "quit", "load_scene")
_UNITY_COMPONENTS = {"Rigidbody", "AudioSource", "Collider", "Renderer", "Light", "Animator"}


@attrs.define
class BehaviourResult:
    ok: bool
    failed: list[str] = attrs.Factory(list)  # one line per observable that differed
    unchecked_ops: int = 0  # custom ops (free text) that no run can check
    # did it show at least one effect the spec asks for (an expected event, field value, pose)?
    # An empty class, a class that only logs or one that writes a constant shows none.
    did_something: bool = False


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


def _frame(t: float, dt: float) -> int:
    """The first frame whose time (frame × dt) reaches ``t`` seconds."""
    return max(0, math.ceil(t / dt - 1e-6))


def _timer_behaviours(ir: dict) -> list[int]:
    return [i for i, b in enumerate(ir["behaviours"]) if b["trigger"]["event"] == "timer"]


def scenarios(ir: dict) -> list[dict]:
    """The runs that exercise ``ir`` (times in seconds; see the module docstring)."""
    behs = ir["behaviours"]
    timers = [behs[i]["trigger"]["interval_s"] for i in _timer_behaviours(ir)]
    delays = [a[key] for b in behs for a in b["actions"] if (key := op(a["op"]).delay_key) and a.get(key)]
    seconds = BASE_S
    if timers or delays:
        seconds = min(max(seconds, 2.5 * max(timers + delays) + 0.1), 14.0)
    down = sorted({b["trigger"]["key"] for b in behs if b["trigger"]["event"] == "key_down"})
    held = sorted({b["condition"]["key"] for b in behs if (b.get("condition") or {}).get("kind") == "key_held"})
    # a key that conditions a timer is held all run (and not at all in another run), so the two
    # readings of a conditioned timer agree
    timer_held = sorted({behs[i]["condition"]["key"] for i in _timer_behaviours(ir)
                         if (behs[i].get("condition") or {}).get("kind") == "key_held"})
    keys: list[tuple[str, float, float]] = [(k, t, round(t + PRESS_S, 6)) for k in down for t in PRESSES]
    keys += [(k, 0.0, seconds + 1) if k in timer_held else (k, *HELD) for k in held]
    decoys = [k for k in DECOYS if k not in set(down) | set(held)][:2]
    keys += [(k, t, round(t + 0.1, 6)) for k, t in zip(decoys, DECOY_AT)]
    hits: list[tuple[float, str, str, str]] = []
    n = 0
    for kind, event, t0 in (("trigger", "on_trigger_enter", 0.31), ("collision", "on_collision_enter", 0.41)):
        bs = [b for b in behs if b["trigger"]["event"] == event]
        if not bs:
            continue
        tags = sorted({b["condition"]["tag"] for b in bs if (b.get("condition") or {}).get("kind") == "tag"}) or ["Player"]
        plan = [(t0, "Decoy")] + [(round(t0 + 0.2 + 0.3 * j, 6), t) for j, t in enumerate(tags)]
        plan += [(round(t0 + 0.9 + 0.3 * j, 6), t) for j, t in enumerate(tags)]  # each tag twice: set and add differ
        plan.append((round(t0 + 0.9 + 0.3 * len(tags), 6), "Decoy"))  # and a decoy after them (no "after N hits")
        for t, tag in plan:
            n += 1
            hits.append((t, kind, tag, f"other{n}"))
    seconds = max([seconds] + [round(t + 0.3, 6) for t, *_ in hits])
    base = {"name": "main", "seconds": seconds, "dt": DT, "keys": keys, "hits": hits, "sets": {}, "cycle": None}
    out = [base, {**base, "name": "80 fps"}]
    out[1]["dt"] = ALT_DT
    types, values = _field_types(ir), _defaults(ir)
    compared = {}
    for b in behs:
        c = b.get("condition")
        if c and c["kind"] == "compare" and c["field"] not in compared:
            holds = _cmp(values[c["field"]], c["cmp"], c["value"])
            for cand in (c["value"], c["value"] + 1, c["value"] - 1, c["value"] + 10, c["value"] - 10):
                if _cmp(cand, c["cmp"], c["value"]) != holds:
                    compared[c["field"]] = cand
                    break
    for name, t in types.items():
        if t not in ("int", "float"):
            continue
        v = compared.get(name, values[name] * 2 + 3 if t == "int" else values[name] * 1.5 + 1.25)
        v = int(v) if t == "int" else float(v)
        out.append({**base, "name": f"{name}={v}", "sets": {name: v}})
    if timer_held:
        out.append({**base, "name": "keys up", "keys": [k for k in keys if k[0] not in timer_held]})
    if any(b["trigger"]["event"] in LIFECYCLE for b in behs) and not timers and not delays:
        out.append({**base, "name": "disabled and re-enabled", "seconds": seconds + 0.6, "cycle": (seconds, seconds + 0.3)})
    return out


def _in_frames(sc: dict) -> dict:
    """A scenario's frame count, key windows, hits and disable cycle in frames of its own dt."""
    dt = sc["dt"]
    return {"frames": _frame(sc["seconds"], dt),
            "keys": [(k, _frame(a, dt), _frame(b, dt)) for k, a, b in sc["keys"]],
            "hits": [(_frame(t, dt), kind, tag, name) for t, kind, tag, name in sc["hits"]],
            "cycle": tuple(_frame(t, dt) for t in sc["cycle"]) if sc["cycle"] else None}


# -- the reference interpreter ------------------------------------------------------------------
class _World:
    """One reference run of an IR in a scenario: the state its ops act on (each op's
    ``interpret(action, world, event, other, time)`` in :data:`almost_irgen.ops.TABLE` calls
    :meth:`amount`, :meth:`per_second`, :meth:`rotate`, :meth:`move`, :meth:`push`,
    :meth:`emit`, :meth:`destroy_at` and sets ``fields`` / ``active``) and Unity's loop around
    them (:func:`expected`)."""

    def __init__(self, ir: dict, sc: dict, reading: str) -> None:
        self.ir, self.reading = ir, reading
        self.fr = _in_frames(sc)
        self.dt, self.frames = sc["dt"], self.fr["frames"]
        self.fields = _defaults(ir)
        self.fields.update(sc["sets"])
        self.types = _field_types(ir)
        self.comps = set(ir.get("components", []))
        self.st = {"pos": (0.0, 0.0, 0.0), "rot": (0.0, 0.0, 0.0, 1.0), "vel": (0.0, 0.0, 0.0), "path": 0.0, "turn": 0.0}
        self.active = {a[key]: True for b in ir["behaviours"] for a in b["actions"] if (key := op(a["op"]).toggles)}
        self.events: list[list] = []
        self.pending: list[tuple[float, str]] = []
        self.nxt = {i: ir["behaviours"][i]["trigger"]["interval_s"] for i in _timer_behaviours(ir)}
        self.now = {"frame": -1, "alive": True, "enabled": True, "gone": None, "ticks": 0}
        self.gone_others: set[str] = set()
        self.step = 0
        self.trace_fields: list[dict] = []
        self.trace_active: list[dict] = []
        self.poses: list[tuple] = []
        self.ticks: list[int] = []

    # -- what the ops do --------------------------------------------------------------------------
    def amount(self, ref) -> float:
        """A number, or the value of the field it names."""
        return float(self.fields[ref]) if isinstance(ref, str) else float(ref)

    def per_second(self, event: str) -> float:
        """The scale of a per-second amount in ``event``: a frame's time, or 1 in a one-shot event."""
        return self.dt if event == "update" else DT if event == "fixed_update" else 1.0

    def rotate(self, axis: str, deg: float) -> None:
        self.st["rot"] = _qmul(self.st["rot"], _axis_angle(_AXES[axis], deg))
        self.st["turn"] += abs(deg)

    def move(self, direction, s: float) -> None:
        """Move ``s`` times ``direction`` in the object's own frame."""
        d = _qrot(self.st["rot"], tuple(c * s for c in direction))
        self.st["pos"] = tuple(p + q for p, q in zip(self.st["pos"], d))
        self.st["path"] += math.sqrt(sum(c * c for c in d))

    def push(self, force, impulse: bool) -> None:
        """A force over one physics step, or an impulse, on the body's velocity."""
        k = 1.0 if impulse else DT
        self.st["vel"] = tuple(v + f * k for v, f in zip(self.st["vel"], force))

    def emit(self, kind: str, detail: str) -> None:
        self.events.append([self.now["frame"], kind, detail])

    def destroy_at(self, when: float, target: str | None) -> None:
        self.pending.append((when, target))

    # -- Unity's loop -----------------------------------------------------------------------------
    def cond_ok(self, b: dict, held: set, other_tag: str | None) -> bool:
        c = b.get("condition")
        if not c:
            return True
        if c["kind"] == "compare":
            return _cmp(self.fields[c["field"]], c["cmp"], c["value"])
        if c["kind"] == "tag":
            return other_tag == c["tag"]
        return c["key"] in held

    def _due(self, i: int, b: dict, held: set, time: float) -> bool:
        """Whether timer behaviour ``i`` ticks in this Update (and count the tick)."""
        if time < self.nxt[i] - 1e-6:
            return False
        interval = b["trigger"]["interval_s"]
        if not self.cond_ok(b, held, None):
            if self.reading == "schedule":
                self.nxt[i] += interval
            return False
        self.nxt[i] = self.nxt[i] + interval if self.reading == "schedule" else time + interval
        self.now["ticks"] += 1
        return True

    def run(self, event: str, held: set, time: float, down: set = frozenset(), other=None) -> None:
        """Call ``event`` on the object: every behaviour it triggers whose condition holds."""
        for i, b in enumerate(self.ir["behaviours"]):
            ev = b["trigger"]["event"]
            if ev == "timer":
                if event != "update" or not self._due(i, b, held, time):
                    continue
            elif ev == "key_down":
                if event != "update" or b["trigger"]["key"] not in down or not self.cond_ok(b, held, None):
                    continue
            elif ev != event or not self.cond_ok(b, held, other[1] if other else None):
                continue
            for a in b["actions"]:
                interpret = op(a["op"]).interpret
                if interpret is not None:
                    interpret(a, self, ev, other[0] if other else None, time)

    def record(self) -> None:
        self.trace_fields.append({k: v for k, v in self.fields.items() if self.types[k] in _WATCH_TYPES})
        self.trace_active.append(dict(self.active))
        st = self.st
        self.poses.append((st["pos"], st["rot"], st["vel"], st["path"], st["turn"]))
        self.ticks.append(self.now["ticks"])

    def end_run(self, time: float) -> tuple:
        """The run ends: OnDisable on a copy of the state (returned), then the overrun goes on
        from the state before it."""
        keep = copy.deepcopy((self.fields, self.active, self.st, self.pending, self.gone_others))
        if self.now["alive"] and self.now["enabled"]:
            self.run("on_disable", set(), time)
        final = (dict(self.fields), dict(self.active), dict(self.st))
        for mine, kept in zip((self.fields, self.active, self.st, self.gone_others), (keep[0], keep[1], keep[2], keep[4])):
            mine.clear()
            mine.update(kept)
        self.pending[:] = keep[3]
        return final

    def cycle(self, frame: int, held: set, time: float, live: bool) -> bool:
        """The scenario's disable/enable cycle; whether the object is live after it."""
        if frame == self.fr["cycle"][0] and self.now["enabled"]:
            self.run("on_disable", held, time)
            self.now["enabled"] = live = False
        elif frame == self.fr["cycle"][1] and not self.now["enabled"]:
            self.now["enabled"] = live = True
            self.run("on_enable", held, time)
        return live

    def physics(self, time: float, held: set, live: bool, due: list) -> list:
        """The physics steps due by ``time``: FixedUpdate, the body moves, the contacts ``due``
        are called; returns the contacts still to come."""
        while self.step * DT <= time + 1e-6:
            self.step += 1
            if not live:
                due = []
                continue
            self.run("fixed_update", held, time)
            if "Rigidbody" in self.comps:
                self.st["pos"] = tuple(p + v * DT for p, v in zip(self.st["pos"], self.st["vel"]))
                self.st["path"] += math.sqrt(sum(v * v for v in self.st["vel"])) * DT
            for name, tag, kind in due:
                self.run("on_trigger_enter" if kind == "trigger" else "on_collision_enter", held, time, other=(name, tag))
            due = []
        return due

    def destroys(self, frame: int, time: float, held: set) -> None:
        """The destroys due by ``time``."""
        for when, target in list(self.pending):
            if time >= when - 1e-5:
                self.pending.remove((when, target))
                if target == "self":
                    if self.now["alive"]:
                        self.events.append([frame, "destroy", "self"])
                        self.now["gone"] = frame
                        if self.now["enabled"]:
                            self.run("on_disable", held, time)
                        self.now["alive"] = False
                elif target is not None and target not in self.gone_others:  # destroying twice destroys once
                    self.gone_others.add(target)
                    self.events.append([frame, "destroy", target])


def expected(ir: dict, sc: dict, reading: str = "schedule") -> dict:
    """What a program that follows ``ir`` shows in scenario ``sc``, frame by frame.

    Unity's loop: physics steps (FixedUpdate, the body moves, trigger/collision calls) run
    whenever simulated time has reached them, then Update (timers, key presses), then the
    destroys due. Timers tick at k × interval (``reading="schedule"``) or, where a condition
    held them back, as soon as it holds again (``"accumulate"``).
    Returns ``frames``, ``dt``, ``events`` ``[frame, kind, detail]``, per-frame traces (index
    ``frame + 1``, from the state after Awake/OnEnable to the one after the end-of-run
    OnDisable; the reference runs OVERRUN frames past the end with no input first, so a program
    a frame ahead at the end has a state to match) of ``fields``, ``active`` and ``pose``,
    ``ticks`` (timer ticks so far) and ``destroyed`` (the frame the object went, or None).
    """
    w = _World(ir, sc, reading)
    fr, now = w.fr, w.now
    w.run("awake", set(), 0.0)
    w.run("on_enable", set(), 0.0)
    w.record()
    due: list = []
    final = None
    for frame in range(w.frames + OVERRUN):
        now["frame"] = frame
        time = frame * w.dt
        if frame == w.frames:  # the run ends here: OnDisable on a copy of the state, then the overrun
            final = w.end_run(time)
        held = {k for k, a, b in fr["keys"] if a <= frame < b}
        down = {k for k, a, _ in fr["keys"] if a == frame}
        live = now["alive"] and now["enabled"]
        if fr["cycle"] and now["alive"]:
            live = w.cycle(frame, held, time, live)
        due += [(name, tag, kind) for hf, kind, tag, name in fr["hits"] if hf == frame]
        if live and frame == 0:
            w.run("start", held, time)
        due = w.physics(time, held, live, due)
        if live:
            w.run("update", held, time, down)
        w.destroys(frame, time, held)
        w.record()
    fields_, active_, st_ = final  # type: ignore[misc]
    w.fields.clear()
    w.fields.update(fields_)
    w.active.clear()
    w.active.update(active_)
    w.st.update(st_)
    w.record()  # the last entry: the state the run ended with, after its OnDisable
    return {"frames": w.frames, "dt": w.dt, "events": w.events, "fields": w.trace_fields, "active": w.trace_active,
            "pose": w.poses, "ticks": w.ticks, "destroyed": now["gone"]}


# -- the runner ----------------------------------------------------------------------------------
def _job_lines(ir: dict, dll: Path, ident: str) -> list[str]:
    lines = [f"program\t{dll}\t{ir['class_name']}\t{ident}"]
    types = _field_types(ir)
    acts = [a for b in ir["behaviours"] for a in b["actions"]]
    prefabs = {a[key] for a in acts if (key := op(a["op"]).spawns)}
    scene = {a[key] for a in acts if (key := op(a["op"]).toggles)}
    for sc in scenarios(ir):
        fr = _in_frames(sc)
        lines.append(f"scenario\t{sc['name']}\t{fr['frames']}\t{sc['dt']}\t{EVERY}\t{DT}")
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
        for k, a, b in fr["keys"]:
            lines.append(f"key\t{k}\t{a}\t{b}\tpress")
        for f, kind, tag, name in fr["hits"]:
            lines.append(f"hit\t{f}\t{kind}\t{tag}\t{name}")
        if fr["cycle"]:
            lines.append(f"cycle\t{fr['cycle'][0]}\t{fr['cycle'][1]}")
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
                frames = sum(int(ln.split("\t")[2]) for _, lines in todo for ln in lines if ln.startswith("scenario\t"))
                subprocess.run([mono, str(tools / "SimRunner.exe"), str(job), str(res)], capture_output=True,
                               timeout=timeout_s + 1.0 * len(todo) + 1e-3 * frames, cwd=tools)  # 1 ms a frame
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


# -- comparing -----------------------------------------------------------------------------------
def _fmt(v) -> str:
    return "(" + ", ".join(f"{x:.2f}" for x in v) + ")"


def _frames_text(fs: list[int], dt: float) -> str:
    if len(fs) == 1:
        return f"frame {fs[0]} ({fs[0] * dt:.2f} s)"
    return f"frames {', '.join(str(f) for f in fs[:4])}{', ...' if len(fs) > 4 else ''} (from {fs[0] * dt:.2f} s)"


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 0.01 + 1e-3 * abs(float(a))


def _states(got_events: list, kind: str, frames: int) -> dict[str, list]:
    """``name → value after each frame`` (index frame + 1) from the runner's change events."""
    changes: dict[str, dict[int, object]] = {}
    for f, k, detail in got_events:
        if k == kind:
            name, _, text = detail.partition("=")
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = text
            changes.setdefault(name, {})[min(max(f + 1, 0), frames + 1)] = value
    out: dict[str, list] = {}
    for name, at in changes.items():
        trace, value = [], None
        for i in range(frames + 2):
            value = at.get(i, value)
            trace.append(value)
        out[name] = trace
    return out


def _fits(key: str, near: list, value, tol: float) -> bool:
    """Is an observed pose part within ``tol`` of the reference states ``near``? Positions and
    velocities: each axis within the range the states span (a timer a frame early and a force on
    time move different axes); rotations: within ``tol`` degrees of one of them."""
    if key == "rot":
        return any(_qangle(q, value) <= tol for q in near)
    return all(min(v[c] for v in near) - tol <= value[c] <= max(v[c] for v in near) + tol for c in range(3))


def compare(ir: dict, sc: dict, got: dict, exp: dict | None = None) -> tuple[list[str], bool]:
    """``(lines naming each observable that differed, whether any expected effect showed)``."""
    if got.get("error"):
        return [f"{sc['name']} run: {got['error']}"], False
    exp = exp or expected(ir, sc)
    frames, dt = exp["frames"], exp["dt"]
    lag = math.ceil(DT / dt - 1e-6) + 1  # frames an effect may trail its cause: one physics step

    n = len(exp["ticks"])

    def window(f: int) -> range:
        """Reference states (trace index f + 1) a state observed after frame f may come from."""
        if f >= frames:  # the state after the end-of-run OnDisable, or the one just before it
            return range(max(0, frames + 1 - lag - exp["ticks"][-1]), n)
        i = max(f, -1) + 1
        back = lag + exp["ticks"][i]  # a timer may fall one frame behind per tick
        return range(max(0, i - back), min(n - 1, i + lag + 1))  # or come a step early (it counts frame 0)

    where = f"{sc['name']} run"
    fails: list[str] = []
    did = False
    gone = exp["destroyed"]
    last = frames if gone is None else gone - 1  # after the object is gone, only its destroy event counts
    ops = {a["op"] for b in ir["behaviours"] for a in b["actions"]}
    events = [e for e in got["events"] if e[1] in _TRACKED or e[1] in ("field", "active")]

    # fields and active objects, by state after every frame
    for kind, trace, noun in (("field", exp["fields"], "field"), ("active", exp["active"], "activeSelf of")):
        states = _states(events, kind, frames)
        for name in trace[0]:
            g = states.get(name)
            if g is None:
                fails.append(f"{where}: {noun} {name} is missing")
                continue
            first = trace[0][name]
            # from the first frame (Awake and Start both come before it) to the frame it went in
            for f in range(0, (frames if gone is None else gone) + 1):
                near = [trace[j][name] for j in window(f)]
                if not any(_same(v, g[f + 1]) for v in near):
                    fails.append(f"{where}: {noun} {name} after frame {f} ({f * dt:.2f} s) is {g[f + 1]!r}, "
                                 f"expected {trace[-1 if f >= frames else f + 1][name]!r}")
                    break
                if not did and not _same(g[f + 1], first) and any(not _same(v, first) for v in near):
                    did = True

    # pose and velocity every few frames
    for s in got["samples"]:
        f = s["f"]
        if f > last - lag:
            break
        near = [exp["pose"][j] for j in window(f)]
        ref = exp["pose"][-1 if f >= frames else f + 1]
        start = exp["pose"][0]
        for key, idx, dist, tol, what in (
                ("pos", 0, math.dist, lambda p: 0.05 + 0.03 * p[3], "translate" if "translate" in ops else "no movement"),
                ("rot", 1, _qangle, lambda p: 3.0 + 0.03 * p[4], "rotate" if "rotate" in ops else "no rotation"),
                ("vel", 2, math.dist, lambda p: 0.05 + 0.03 * math.hypot(*p[2]), "apply_force")):
            if not _fits(key, [p[idx] for p in near], s[key], max(tol(p) for p in near)):
                shown = f"off by {min(dist(p[idx], s[key]) for p in near):.0f}°" if key == "rot" else \
                    f"{_fmt(s[key])}, expected {_fmt(ref[idx])}"
                fails.append(f"{where}: {'position' if key == 'pos' else 'rotation' if key == 'rot' else 'velocity'} "
                             f"after frame {f} ({f * dt:.2f} s) is {shown} ({what})")
            elif not did and dist(ref[idx], start[idx]) > tol(ref) and dist(s[key], start[idx]) > tol(ref):
                did = True
        if fails and fails[-1].startswith(f"{where}: ") and any(x in fails[-1] for x in ("position", "rotation", "velocity")):
            break  # the first sample that differs says enough

    # events: every expected one once, in its window, and nothing else (one line per kind and detail)
    left = [e for e in events if e[1] in _TRACKED]
    # once the program has destroyed its object (within its window of the reference's destroy, or
    # else that destroy is reported), what the reference still does after it cannot be seen, nor
    # what a drifting timer would have done in the frames it may trail by
    end = min([frames] + [g[0] for g in left if g[1] == "destroy" and g[2] == "self"])
    missing: dict[tuple, list] = {}
    for f, kind, detail in exp["events"]:
        lo, hi = f - lag, f + lag + exp["ticks"][min(f + 1, n - 1)]  # as far off as a state may be
        match = next((g for g in left if g[1] == kind and g[2] == detail and lo <= g[0] <= hi), None)
        if match is not None:
            left.remove(match)
            did = True
        elif hi < frames and (f + exp["ticks"][min(f + 1, n - 1)] <= end or (kind, detail) == ("destroy", "self")):
            missing.setdefault((kind, detail), []).append(f)
    for (kind, detail), fs in missing.items():
        when = [g[0] for g in events if g[1] == kind and g[2] == detail]
        fails.append(f"{where}: expected {kind} {detail!r} at {_frames_text(fs, dt)}" +
                     (f", got it at {_frames_text(when, dt)}" if when else ", it never happened"))
    extra: dict[tuple, list] = {}
    for f, kind, detail in left:
        if f >= frames - 2 or (gone is not None and f > gone and kind != "destroy"):
            continue  # at the very end, or while a late destroy is still coming
        extra.setdefault((kind, detail), []).append(f)
    for (kind, detail), fs in extra.items():
        fails.append(f"{where}: {len(fs)} unexpected {kind} {detail!r} at {_frames_text(fs, dt)}")
    return fails[:8], did


def _has_conditioned_timer(ir: dict) -> bool:
    return any(ir["behaviours"][i].get("condition") for i in _timer_behaviours(ir))


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
        unchecked = [sum(op(a["op"]).interpret is None for b in ir["behaviours"] for a in b["actions"]) for ir in irs]
        with tempfile.TemporaryDirectory(prefix="almost-behave-") as tmp:
            results = self.compiler.check(codes, keep_dir=tmp)
            jobs, out = [], [None] * len(irs)
            for i, (ir, r) in enumerate(zip(irs, results)):
                if not r.ok or r.dll is None:
                    out[i] = BehaviourResult(False, [f"does not compile: {r.describe()}"], unchecked[i])
                else:
                    jobs.append((str(i), _job_lines(ir, r.dll, str(i))))
            ran = _run_jobs(self.compiler.tools, jobs, self.timeout_s) if jobs else {}
        cache: dict = {}  # many programs share a spec (a corpus, RLOO samples)

        def reference(ir: dict, sc: dict, reading: str) -> dict:
            key = (json.dumps(ir, sort_keys=True), sc["name"], reading)
            if key not in cache:
                cache[key] = expected(ir, sc, reading)
            return cache[key]

        for ident, _ in jobs:
            i = int(ident)
            ir = irs[i]
            fails, did = [], False
            got = {g.get("scenario"): g for g in ran.get(ident, [])}
            for sc in scenarios(ir):
                g = got.get(sc["name"]) or got.get("main")
                if g is None:
                    fails.append(f"{sc['name']} run: no result")
                    continue
                these, d = compare(ir, sc, g, reference(ir, sc, "schedule"))
                if these and not g.get("error") and _has_conditioned_timer(ir):
                    other, d2 = compare(ir, sc, g, reference(ir, sc, "accumulate"))
                    if len(other) < len(these):
                        these, d = other, d2
                fails += these
                did = did or d
                if g.get("error"):
                    break
            out[i] = BehaviourResult(not fails, fails, unchecked[i], did or not fails)
        return results, out  # type: ignore[return-value]
