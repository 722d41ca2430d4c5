"""The IR's typed ops, each defined once: :data:`TABLE`.

An :class:`Op` holds everything the package knows about one action of a behaviour:

* ``props``/``required``: its keys for the JSON Schema (:mod:`~almost_irgen.ir` builds the
  schema and the validator from the table), ``component`` (a component it needs),
  ``field_ref`` (a key naming a declared field, and the field types it takes), ``declares``
  (the field a model's answer that leaves it out must have) and ``check`` (any other rule);
* ``csharp``: its C# statements (:mod:`~almost_irgen.rules`);
* ``describe`` and ``phrases``: its English, the legacy template's words (``synthgen.describe``)
  and the families of wording people use (:mod:`~almost_irgen.phrasing`);
* ``interpret``: what it does in the reference interpreter (:func:`almost_irgen.unitysim.expected`;
  None: free text, nothing a run can check), ``pattern``: the Unity call the static check
  looks for (:mod:`~almost_irgen.conformance`), and ``spawns``/``toggles``/``delay_key`` (the
  objects and times the simulated runs must provide);
* ``draw``: a random action of this op (:func:`almost_irgen.synthgen.random_ir`);
* ``differs``: what makes a predicted action not the expected one (:mod:`~almost_irgen.irmatch`).

A new op is one more entry here: schema, validation, C#, the reference interpreter and the
synthesised data follow (``test_ops.py`` shows it).
"""

from __future__ import annotations

import copy
import json
import random
import struct
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .words import DIRS, humanize, say_field, say_number, unit, vec_text

# -- schema pieces ---------------------------------------------------------------------------------
IDENT = "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
NUM = {"type": "number"}
VEC3 = {"type": "array", "items": NUM, "minItems": 3, "maxItems": 3}
NUM_OR_FIELD = {"oneOf": [NUM, {"type": "string", "pattern": IDENT}]}
FIELD = {"type": "string", "pattern": IDENT}
CONTACT_EVENTS = ("on_trigger_enter", "on_collision_enter")

# a field type → whether a value (a default, a set_field value) has it
VALUE_OK = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "Vector3": lambda v: (
        isinstance(v, list)
        and len(v) == 3
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    ),
    "GameObject": lambda v: v is None,
    "AudioClip": lambda v: v is None,
}


def value_type(v: Any) -> str | None:
    """The field type a literal value implies (None: none)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "string" if isinstance(v, str) else None


# -- C# literals -----------------------------------------------------------------------------------
AXES = {"x": "Vector3.right", "y": "Vector3.up", "z": "Vector3.forward"}


def cs_float(v: float) -> str:
    """A C# float literal."""
    if isinstance(v, bool):
        raise TypeError("bool is not a number")
    text = repr(float(v))
    if "e" in text or "inf" in text or "nan" in text:
        text = f"{float(v):.6f}"
    return text.rstrip("0").rstrip(".") + "f" if "." in text else text + "f"


def cs_amount(v: Any) -> str:
    """A number, or the name of the field that holds it."""
    return v if isinstance(v, str) else cs_float(v)


def cs_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=True)  # a valid C# regular string literal


def cs_vec(v: Sequence[float]) -> str:
    return f"new Vector3({', '.join(cs_float(x) for x in v)})"


def cs_other(event: str) -> str:
    """The other object of a contact event."""
    return "collision.gameObject" if event == "on_collision_enter" else "other.gameObject"


def _per_second(event: str) -> str:
    """The scale of a per-second amount: a frame's time, or nothing in a one-shot event."""
    if event not in ("update", "fixed_update"):
        return ""
    return " * Time.fixedDeltaTime" if event == "fixed_update" else " * Time.deltaTime"


def f32(x: float) -> float:
    """``x`` as a C# float holds it."""
    return struct.unpack("f", struct.pack("f", x))[0]


# -- what synthgen draws ---------------------------------------------------------------------------
# free-text actions; none starts with a verb that a typed op's sentence uses ("show X" is
# set_active): "show the score" was answered with a typed op instead of `custom` in runs D-F
CUSTOM_TEXTS = [
    "flash the material red",
    "shake the camera",
    "fade out over one second",
    "display the score",
]
# the amounts people ask for: a model copies numbers it has seen in many places better
ROTATE_DEG = [15, 30, 45, 60, 90, 120, 180, 270, 360, 720]
SPEEDS = [0.5, 1, 1.5, 2, 3, 4, 5, 10]
FORCES = [1, 2, 3, 5, 7, 10, 15, 20]
SET_VALUES = [1, -1, 5, 0, 10, 100, 2, -5]
AXIS_DIRECTIONS = ((0, 0, 1), (0, 0, -1), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0))
WORDS = ["started", "hit", "ready", "spawned", "boom", "tick", "done", "armed", "open", "closed"]


def round_amount(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 2)


@attrs.define
class Draw:
    """What an op's ``draw`` may use: the rng, the behaviour's trigger event, and
    ``field_of(kinds)`` (a declared field of one of those types, or a new one) with
    ``field_type(name)``."""

    rng: random.Random
    event: str
    field_of: Callable[[tuple[str, ...]], str]
    field_type: Callable[[str], str]


# -- the op --------------------------------------------------------------------------------------
Fam = tuple[str, bool, Callable]  # a phrasing family: (id, held out, (action, rng) -> words)


@attrs.frozen
class Op:
    name: str
    props: dict
    required: tuple[str, ...]
    csharp: Callable[[dict, str], list[str]]  # (action, trigger event) -> C# statements
    describe: Callable[[dict], str]  # the legacy template's words
    phrases: tuple[Fam, ...]  # the verb in its base form ("spin …"); the frames conjugate it
    draw: Callable[[Draw], dict]
    interpret: Callable | None = None  # (action, world, event, other, time); None: not checkable
    pattern: Callable[[dict], str] | None = None  # the Unity call conforming code makes
    component: str | None = None
    field_ref: tuple[str, tuple[str, ...]] | None = None  # (key, field types it may name)
    declares: Callable[[dict], tuple[Any, str | None]] | None = (
        None  # (name, type) of the field it needs
    )
    check: Callable[[dict, str, dict, str], list] | None = (
        None  # (action, path, field types, event) -> problems
    )
    spawns: str | None = None  # the key naming the prefab it instantiates
    toggles: str | None = None  # the key naming the scene object it shows or hides
    delay_key: str | None = None  # the key of a delay its effect comes after
    continuous: bool = False  # its amount is per second: in Update it goes on ("a coin that spins")
    # (predicted, expected, comparisons) -> why the predicted action is not the expected one, or
    # None (almost_irgen.irmatch; None here: every key equal)
    differs: Callable[[dict, dict, Any], str | None] | None = None

    def schema(self) -> dict:
        """The JSON Schema of its actions (a fresh copy)."""
        return copy.deepcopy(
            {
                "type": "object",
                "properties": {"op": {"const": self.name}, **self.props},
                "required": ["op", *self.required],
                "additionalProperties": False,
            }
        )

    def needed_field(self, act: dict) -> tuple[Any, str | None] | None:
        """``(name, type)`` of the field this action names (None: it names none)."""
        if self.declares is not None:
            return self.declares(act)
        if self.field_ref is not None:
            key, allowed = self.field_ref
            return act.get(key), allowed[0]
        return None


# -- what counts as the same action (almost_irgen.irmatch) ---------------------------------------------
def _fmt(v: list) -> str:
    return "[" + ", ".join(f"{x:g}" for x in v) + "]"


def _same_field(p: dict, r: dict, s, key: str) -> str | None:
    """The two name the same field (see irmatch's renaming)."""
    return None if s.field(r[key], p[key]) else f"{r['op']} on field {p[key]!r}, not {r[key]!r}"


def _rotate_differs(p: dict, r: dict, s) -> str | None:
    if p["axis"] != r["axis"]:
        return f"rotate around {p['axis']}, not {r['axis']}"
    pa, ra = p["degrees_per_second"], r["degrees_per_second"]
    return None if s.amount(pa, ra) else f"rotate at {pa} degrees per second, not {ra}"


def _translate_differs(p: dict, r: dict, s) -> str | None:
    """The velocity ``direction × speed`` (``[0, 0, 1]`` at 1.5 is ``[0, 0, 1.5]`` at 1)."""
    ps, rs = p["speed"], r["speed"]
    if isinstance(ps, str) and isinstance(
        rs, str
    ):  # the same tunable speed field: compare the directions
        if not s.field(rs, ps):
            return f"translate at speed {ps!r}, not {rs!r}"
        ps = rs = 1
    pv = [x * s.pred_amount(ps) for x in p["direction"]]
    rv = [x * s.ref_amount(rs) for x in r["direction"]]
    return None if s.vec(pv, rv) else f"translate velocity {_fmt(pv)}, not {_fmt(rv)}"


def _force_differs(p: dict, r: dict, s) -> str | None:
    if not s.vec(p["force"], r["force"]):
        return f"force {_fmt(p['force'])}, not {_fmt(r['force'])}"
    pm, rm = p.get("mode", "Force"), r.get("mode", "Force")
    return None if pm == rm else f"force mode {pm}, not {rm}"


def _destroy_differs(p: dict, r: dict, s) -> str | None:
    if p["target"] != r["target"]:
        return f"destroy {p['target']}, not {r['target']}"
    pd, rd = p.get("delay_s", 0), r.get("delay_s", 0)
    return None if s.num(pd, rd) else f"destroy after {pd} s, not {rd}"


def _set_active_differs(p: dict, r: dict, s) -> str | None:
    if p["active"] != r["active"]:
        return f"set_active {p['active']}, not {r['active']}"
    return _same_field(p, r, s, "target_field")


def _set_field_differs(p: dict, r: dict, s) -> str | None:
    if not s.value(p["value"], r["value"]):
        return f"set_field value {p['value']!r}, not {r['value']!r}"
    if p.get("mode", "set") != r.get("mode", "set"):
        return f"set_field mode {p.get('mode', 'set')}, not {r.get('mode', 'set')}"
    return _same_field(p, r, s, "field")


def _text_differs(key: str, what: str) -> Callable[[dict, dict, Any], str | None]:
    """The free text under ``key`` (case, quotes, end punctuation and spacing ignored)."""
    return lambda p, r, s: None if s.text(p[key], r[key]) else f"{what} {p[key]!r}, not {r[key]!r}"


# -- how people say each op (training phrasing families beyond the first few) ----------------------
_DEG_UNITS = ["degrees per second", "deg/s", "degrees a second", "deg per sec", "degrees/sec", "degrees each second"]


def _axis_words(axis: str, r: random.Random) -> str:
    return r.choice([axis, f"the {axis} axis", axis.upper(), f"the {axis.upper()} axis", f"{axis}-axis", f"{axis} axis"])


def _rotate_natural(a: dict, r: random.Random) -> str:
    deg, ax, unit_ = _deg(a, r), _axis_words(a["axis"], r), r.choice(_DEG_UNITS)
    return r.choice([f"spin {deg} {unit_} around {ax}", f"rotate on {ax} at {deg} {unit_}",
                     f"spin on {ax} at {deg} {unit_}", f"rotate {deg} {unit_} around {ax}",
                     f"turn around {ax} at {deg} {unit_}", f"spin around {ax}, {deg} {unit_}"])


# direction → verbs people use for moving that way (base form)
_MOVE_VERBS = {(0, 1, 0): ["rise", "float up", "go up", "move up", "climb"], (0, -1, 0): ["sink", "fall", "go down", "move down", "drop"],
               (0, 0, 1): ["move forward", "go forward", "drive forward", "roll forward"], (0, 0, -1): ["move backwards", "go back", "back up", "move back"],
               (1, 0, 0): ["move right", "drive right", "slide right", "go right"], (-1, 0, 0): ["move left", "drive left", "slide left", "go left"]}


def _translate_natural(a: dict, r: random.Random) -> str:
    d, m = unit(a["direction"])
    s = say_number(a["speed"], r)
    if d not in _MOVE_VERBS or m != 1:
        return r.choice([f"move along {vec_text(a['direction'])} at speed {s}", f"move in direction {vec_text(a['direction'])}, speed {s}"])
    verb = r.choice(_MOVE_VERBS[d])
    return r.choice([f"{verb} at speed {s}", f"{verb} at {s} units per second", f"{verb} at {s} units/s",
                     f"{verb}, speed {s}", f"{verb} with a speed of {s}", f"{verb} at {s} per second"])


def _force_natural(a: dict, r: random.Random) -> str:
    return _force(a, r, ["kick it {dir} with an impulse of {m}", "hit it {dir} with an impulse of {m}", "add an impulse of {m} {dir}",
                         "launch {dir} with impulse {m}", "apply impulse {m} {dir}"],
                  ["push {dir} with a force of {m}", "thrust {dir} with force {m}", "add force {m} {dir}",
                   "push it {dir} with force {m} continuously", "apply {an} {adj} force {m}"],
                  ["add {kind} of {v}", "push with {kind} {v}"])


def _article(words: str) -> str:
    return "an" if words[:1] in "aeiou" else "a"


def _spawn_natural(a: dict, r: random.Random) -> str:
    h = humanize(a["prefab_field"])
    return r.choice([f"spawn {_article(h)} {h}", f"spawn {_article(h)} {h} prefab", f"instantiate the {h} prefab",
                     f"spawn the {h}", f"drop {_article(h)} {h}", f"create {_article(h)} {h}"])


def _destroy_natural(a: dict, r: random.Random) -> str:
    return _destroy_words(a, r, ["die", "vanish", "destroy it", "get killed", "destroy the object"],
                          ["destroy the other one", "destroy the object it hit", "kill the other object", "delete the other object"])


def _sound_natural(a: dict, r: random.Random) -> str:
    h = humanize(a["clip_field"])
    noun = "" if h.split()[-1] in ("sound", "clip", "jingle", "sfx") else r.choice(["sound", "clip", "sfx", "sound effect"])
    return r.choice([f"play {_article(h)} {h} {noun}", f"play {_article(h)} {h}", f"play the {h}", f"play the {h} {noun}"]).strip()


def _active_natural(a: dict, r: random.Random) -> str:
    h, on = humanize(a["target_field"]), a["active"]
    obj = r.choice(["", " object", " gameobject"])
    return r.choice([f"turn {'on' if on else 'off'} the {h}{obj}", f"turn the {h}{obj} {'on' if on else 'off'}",
                     f"{'show' if on else 'hide'} the {h}{obj}", f"{'enable' if on else 'disable'} the {h}{obj}",
                     f"make the {h}{obj} {'appear' if on else 'disappear'}", f"set the {h}{obj} {'active' if on else 'inactive'}"])


def _set_natural(a: dict, r: random.Random) -> str:
    f, v = say_field(a["field"], r), a["value"]
    if a.get("mode") == "add" and isinstance(v, int | float) and not isinstance(v, bool):
        if v < 0:
            n = say_number(-v, r)
            return r.choice([f"subtract {n} from {f}", f"take {n} off {f}", f"reduce {f} by {n}", f"lower {f} by {n}"])
        n = say_number(v, r)
        return r.choice([f"add {n} to {f}", f"raise {f} by {n}", f"increment {f} by {n}", f"bump {f} up by {n}"])
    vt = str(v).lower() if isinstance(v, bool) else say_number(v, r)
    return r.choice([f"set {f} to {vt}", f"reset {f} to {vt}", f"change {f} to {vt}"])


def _log_natural(a: dict, r: random.Random) -> str:
    m = a["message"]
    return r.choice([f"log '{m}' with Debug.Log", f"print '{m}' to the console", f"output '{m}'",
                     f"log the message '{m}'", f"print out {m}", f'say "{m}" in the console'])


# -- the ops ---------------------------------------------------------------------------------------
def _rotate_cs(a: dict, event: str) -> list[str]:
    return [
        f"transform.Rotate({AXES[a['axis']]} * {cs_amount(a['degrees_per_second'])}{_per_second(event)});"
    ]


def _rotate_run(a: dict, w, event: str, other, time: float) -> None:
    w.rotate(a["axis"], w.amount(a["degrees_per_second"]) * w.per_second(event))


def _rotate_draw(d: Draw) -> dict:
    amount = (
        d.field_of(("float",)) if d.rng.random() < 0.5 else round_amount(d.rng.choice(ROTATE_DEG))
    )
    return {"op": "rotate", "axis": d.rng.choice("xyz"), "degrees_per_second": amount}


def _deg(a: dict, r: random.Random) -> str:
    return say_number(a["degrees_per_second"], r)


_ROTATE = Op(
    "rotate",
    {"axis": {"enum": ["x", "y", "z"]}, "degrees_per_second": NUM_OR_FIELD},
    ("axis", "degrees_per_second"),
    csharp=_rotate_cs,
    describe=lambda a: f"rotate around {a['axis']} by {a['degrees_per_second']} degrees per second",
    phrases=(
        (
            "rotate.degrees",
            False,
            lambda a, r: (
                f"rotate around {r.choice(['', 'the '])}{a['axis']}{r.choice(['', ' axis'])} at {_deg(a, r)} degrees per second"
            ),
        ),
        (
            "rotate.spin",
            False,
            lambda a, r: (
                f"spin around the {a['axis']} axis at {_deg(a, r)} {r.choice(['deg/s', 'deg per sec', 'degrees a second'])}"
            ),
        ),
        (
            "rotate.turn",
            False,
            lambda a, r: (
                f"turn on {a['axis']} at {_deg(a, r)} {r.choice(['degrees/s', '°/s', 'degrees each second'])}"
            ),
        ),
        ("rotate.symbol", True, lambda a, r: f"rotate {_deg(a, r)}°/s about the {a['axis']} axis"),
        ("rotate.natural", False, _rotate_natural),
    ),
    draw=_rotate_draw,
    interpret=_rotate_run,
    pattern=lambda a: (
        r"(\.Rotate\s*\(|\b(localRotation|rotation)\s*\*?=(?!=)|\b(localEulerAngles|eulerAngles)\s*\+?=(?!=))"
    ),
    field_ref=("degrees_per_second", ("float", "int")),
    continuous=True,
    differs=_rotate_differs,
)


def _translate_cs(a: dict, event: str) -> list[str]:
    return [
        f"transform.Translate({cs_vec(a['direction'])} * {cs_amount(a['speed'])}{_per_second(event)});"
    ]


def _translate_run(a: dict, w, event: str, other, time: float) -> None:
    w.move(a["direction"], w.amount(a["speed"]) * w.per_second(event))


def _translate_draw(d: Draw) -> dict:
    amount = d.field_of(("float",)) if d.rng.random() < 0.5 else round_amount(d.rng.choice(SPEEDS))
    return {"op": "translate", "direction": list(d.rng.choice(AXIS_DIRECTIONS)), "speed": amount}


def _move(a: dict, r: random.Random, words: list[str]) -> str:
    d, m = unit(a["direction"])
    where = r.choice(DIRS[d][0]) if d in DIRS and m == 1 else f"along {vec_text(a['direction'])}"
    return r.choice(words).format(dir=where, s=say_number(a["speed"], r))


_TRANSLATE = Op(
    "translate",
    {"direction": VEC3, "speed": NUM_OR_FIELD},
    ("direction", "speed"),
    csharp=_translate_cs,
    describe=lambda a: f"move along {a['direction']} at speed {a['speed']}",
    phrases=(
        (
            "translate.move",
            False,
            lambda a, r: _move(
                a, r, ["move {dir} at speed {s}", "move {dir} at {s} units per second"]
            ),
        ),
        (
            "translate.slide",
            False,
            lambda a, r: _move(a, r, ["slide {dir} at a speed of {s}", "travel {dir}, speed {s}"]),
        ),
        ("translate.go", True, lambda a, r: _move(a, r, ["go {dir} with speed {s}"])),
        ("translate.natural", False, _translate_natural),
    ),
    draw=_translate_draw,
    interpret=_translate_run,
    pattern=lambda a: r"(\.Translate\s*\(|\b(localPosition|position)\s*[+-]?=(?!=))",
    field_ref=("speed", ("float", "int")),
    continuous=True,
    differs=_translate_differs,
)


def _force_draw(d: Draw) -> dict:
    rng = d.rng
    if (
        rng.random() < 0.5
    ):  # along one axis ("an upward impulse of 5", "pushed forward with force 20")
        force = [x * rng.choice(FORCES) for x in rng.choice(AXIS_DIRECTIONS)]
    else:
        force = [0, rng.choice([1, 5, 10]), rng.choice([0, 2])]
    return {"op": "apply_force", "force": force, "mode": rng.choice(["Force", "Impulse"])}


def _force(a: dict, r: random.Random, impulse: list[str], push: list[str], vec: list[str]) -> str:
    d, m = unit(a["force"])
    if d not in DIRS:
        return r.choice(vec).format(
            v=vec_text(a["force"]), kind="an impulse" if a.get("mode") == "Impulse" else "a force"
        )
    words, adj = DIRS[d]
    pick = impulse if a.get("mode") == "Impulse" else push
    return r.choice(pick).format(
        dir=r.choice(words), adj=adj, m=say_number(m, r), an="an" if adj[0] in "aeiou" else "a"
    )


_APPLY_FORCE = Op(
    "apply_force",
    {"force": VEC3, "mode": {"enum": ["Force", "Impulse"]}},
    ("force",),
    csharp=lambda a, e: [
        f"GetComponent<Rigidbody>().AddForce({cs_vec(a['force'])}, ForceMode.{a.get('mode', 'Force')});"
    ],
    describe=lambda a: f"push with force {a['force']} ({a.get('mode', 'Force')})",
    phrases=(
        (
            "apply_force.launch",
            False,
            lambda a, r: _force(
                a,
                r,
                ["launch it {dir} with an impulse of {m}", "apply an impulse of {m} {dir}"],
                ["push it {dir} with force {m}", "apply a force of {m} {dir}"],
                ["apply {kind} of {v}", "push it with {kind} of {v}"],
            ),
        ),
        (
            "apply_force.adjective",
            False,
            lambda a, r: _force(
                a,
                r,
                ["apply {an} {adj} impulse of {m}", "add {an} {adj} impulse of {m}"],
                ["apply {an} {adj} force of {m}", "add {an} {adj} force of {m}"],
                ["add {kind} {v}"],
            ),
        ),
        (
            "apply_force.give",
            True,
            lambda a, r: _force(
                a,
                r,
                ["give it {an} {adj} kick of {m} at once"],
                ["give it a steady {adj} push of {m}"],
                ["give it {kind} of {v}"],
            ),
        ),
        ("apply_force.natural", False, _force_natural),
    ),
    draw=_force_draw,
    interpret=lambda a, w, event, other, time: w.push(
        a["force"], impulse=a.get("mode", "Force") != "Force"
    ),
    pattern=lambda a: r"(\bAddForce\s*\(|\bvelocity\s*\+=)",
    component="Rigidbody",
    differs=_force_differs,
)

_SPAWN = Op(
    "spawn",
    {"prefab_field": FIELD},
    ("prefab_field",),
    csharp=lambda a, e: [
        f"Instantiate({a['prefab_field']}, transform.position, transform.rotation);"
    ],
    describe=lambda a: f"spawn {a['prefab_field']}",
    phrases=(
        ("spawn.spawn", False, lambda a, r: f"spawn {say_field(a['prefab_field'], r)}"),
        (
            "spawn.instantiate",
            False,
            lambda a, r: f"{r.choice(['instantiate', 'create'])} {say_field(a['prefab_field'], r)}",
        ),
        ("spawn.copy", True, lambda a, r: f"make a copy of {a['prefab_field']}"),
        ("spawn.natural", False, _spawn_natural),
    ),
    draw=lambda d: {"op": "spawn", "prefab_field": d.field_of(("GameObject",))},
    interpret=lambda a, w, event, other, time: w.emit("spawn", a["prefab_field"]),
    pattern=lambda a: rf"\bInstantiate\s*(<[^>]*>)?\s*\(\s*{a['prefab_field']}\b",
    field_ref=("prefab_field", ("GameObject",)),
    spawns="prefab_field",
    differs=lambda p, r, s: _same_field(p, r, s, "prefab_field"),
)


def _destroy_cs(a: dict, event: str) -> list[str]:
    target = "gameObject" if a["target"] == "self" else cs_other(event)
    delay = a.get("delay_s", 0)
    return [f"Destroy({target}, {cs_float(delay)});" if delay else f"Destroy({target});"]


def _destroy_draw(d: Draw) -> dict:
    other = d.event in CONTACT_EVENTS and d.rng.random() < 0.6
    act = {"op": "destroy", "target": "other" if other else "self"}
    if d.rng.random() < 0.3:
        act["delay_s"] = d.rng.choice([0.5, 1, 2, 3])
    return act


def _destroy_check(a: dict, at: str, types: dict, event: str) -> list[tuple[str, str]]:
    if a["target"] == "other" and event not in CONTACT_EVENTS:
        return [(f"{at}.target", "'other' needs an on_trigger_enter or on_collision_enter trigger")]
    return []


def _destroy_words(a: dict, r: random.Random, self_words: list[str], other_words: list[str]) -> str:
    text = r.choice(self_words if a["target"] == "self" else other_words)
    if a.get("delay_s"):
        d = say_number(a["delay_s"], r)
        text += r.choice([f" after {d} seconds", f" after {d} s", f" {d} seconds later"])
    return text


_DESTROY = Op(
    "destroy",
    {"target": {"enum": ["self", "other"]}, "delay_s": {"type": "number", "minimum": 0}},
    ("target",),
    csharp=_destroy_cs,
    describe=lambda a: (
        ("destroy itself" if a["target"] == "self" else "destroy the other object")
        + (f" after {a['delay_s']} s" if a.get("delay_s") else "")
    ),
    phrases=(
        (
            "destroy.destroy",
            False,
            lambda a, r: _destroy_words(
                a,
                r,
                ["destroy itself", "destroy this object", "destroy the game object"],
                ["destroy the other object", "destroy whatever it touched"],
            ),
        ),
        (
            "destroy.disappear",
            False,
            lambda a, r: _destroy_words(
                a,
                r,
                ["disappear", "get destroyed", "self-destruct"],
                ["destroy the thing that hit it", "destroy the other thing"],
            ),
        ),
        (
            "destroy.remove",
            True,
            lambda a, r: _destroy_words(
                a, r, ["remove itself from the scene"], ["remove the other object from the scene"]
            ),
        ),
        ("destroy.natural", False, _destroy_natural),
    ),
    draw=_destroy_draw,
    interpret=lambda a, w, event, other, time: w.destroy_at(
        time + a.get("delay_s", 0), "self" if a["target"] == "self" else other
    ),
    pattern=lambda a: r"\bDestroy\s*\(",
    check=_destroy_check,
    delay_key="delay_s",
    differs=_destroy_differs,
)

_PLAY_SOUND = Op(
    "play_sound",
    {"clip_field": FIELD},
    ("clip_field",),
    csharp=lambda a, e: [f"GetComponent<AudioSource>().PlayOneShot({a['clip_field']});"],
    describe=lambda a: f"play {a['clip_field']}",
    phrases=(
        ("play_sound.play", False, lambda a, r: f"play {say_field(a['clip_field'], r)}"),
        (
            "play_sound.sound",
            False,
            lambda a, r: (
                f"play the {humanize(a['clip_field'])} {r.choice(['sound', 'clip', 'audio'])}"
            ),
        ),
        ("play_sound.ring", True, lambda a, r: f"make a noise with {a['clip_field']}"),
        ("play_sound.natural", False, _sound_natural),
    ),
    draw=lambda d: {"op": "play_sound", "clip_field": d.field_of(("AudioClip",))},
    interpret=lambda a, w, event, other, time: w.emit("sound", a["clip_field"]),
    pattern=lambda a: rf"(\.(PlayOneShot|PlayClipAtPoint)\s*\(\s*{a['clip_field']}\b|\.Play\s*\()",
    component="AudioSource",
    field_ref=("clip_field", ("AudioClip",)),
    differs=lambda p, r, s: _same_field(p, r, s, "clip_field"),
)


def _set_active_run(a: dict, w, event: str, other, time: float) -> None:
    w.active[a["target_field"]] = a["active"]


def _set_active_words(a: dict, r: random.Random) -> str:
    verb = r.choice(["enable", "activate"]) if a["active"] else r.choice(["disable", "deactivate"])
    return f"{verb} {say_field(a['target_field'], r)}"


_SET_ACTIVE = Op(
    "set_active",
    {"target_field": FIELD, "active": {"type": "boolean"}},
    ("target_field", "active"),
    csharp=lambda a, e: [f"{a['target_field']}.SetActive({'true' if a['active'] else 'false'});"],
    describe=lambda a: f"{'show' if a['active'] else 'hide'} {a['target_field']}",
    phrases=(
        (
            "set_active.show",
            False,
            lambda a, r: f"{'show' if a['active'] else 'hide'} {say_field(a['target_field'], r)}",
        ),
        ("set_active.enable", False, _set_active_words),
        (
            "set_active.turn",
            True,
            lambda a, r: f"switch {a['target_field']} {'on' if a['active'] else 'off'}",
        ),
        ("set_active.natural", False, _active_natural),
    ),
    draw=lambda d: {
        "op": "set_active",
        "target_field": d.field_of(("GameObject",)),
        "active": d.rng.random() < 0.5,
    },
    interpret=_set_active_run,
    pattern=lambda a: rf"\b{a['target_field']}\s*\.\s*SetActive\s*\(",
    field_ref=("target_field", ("GameObject",)),
    toggles="target_field",
    differs=_set_active_differs,
)


def _set_field_cs(a: dict, event: str) -> list[str]:
    v = a["value"]
    if isinstance(v, bool):
        lit = "true" if v else "false"
    elif isinstance(v, str):
        lit = cs_string(v)
    else:
        lit = str(v) if isinstance(v, int) else cs_float(v)
    return [f"{a['field']} {'+=' if a.get('mode') == 'add' else '='} {lit};"]


def _set_field_run(a: dict, w, event: str, other, time: float) -> None:
    f, v, t = a["field"], a["value"], w.types[a["field"]]
    if a.get("mode") == "add":
        w.fields[f] = w.fields[f] + v if t == "int" else f32(w.fields[f] + v)
    else:
        w.fields[f] = int(v) if t == "int" else f32(v) if t == "float" else v


def _set_field_draw(d: Draw) -> dict:
    name = d.field_of(("int", "float", "bool"))
    if d.field_type(name) == "bool":
        return {"op": "set_field", "field": name, "value": d.rng.random() < 0.5}
    act = {"op": "set_field", "field": name, "value": d.rng.choice(SET_VALUES)}
    if d.rng.random() < 0.5:
        act["mode"] = "add"
    return act


def _set_field_check(a: dict, at: str, types: dict, event: str) -> list[tuple[str, str]]:
    ftype = types.get(a["field"])
    if ftype not in ("int", "float", "bool", "string"):
        return [
            (
                f"{at}.field",
                f"expected a declared int, float, bool or string field, got {a['field']!r}",
            )
        ]
    if not VALUE_OK[ftype](a["value"]):
        return [
            (
                f"{at}.value",
                f"expected a {ftype} value for field {a['field']!r}, got {a['value']!r}",
            )
        ]
    if a.get("mode") == "add" and ftype not in ("int", "float"):
        return [(f"{at}.mode", "'add' needs an int or float field")]
    return []


def _set_words(a: dict, r: random.Random, style: str) -> str:
    f, v = say_field(a["field"], r), a["value"]
    vt = str(v).lower() if isinstance(v, bool) else say_number(v, r)
    if a.get("mode") == "add":
        if style == "code":
            return f"do {a['field']} += {v}"
        if style == "change" and isinstance(v, int | float) and v != 0:
            return (
                f"increase {f} by {say_number(v, r)}"
                if v > 0
                else f"decrease {f} by {say_number(-v, r)}"
            )
        return f"add {vt} to {f}"
    if style == "code":
        return f"do {a['field']} = {str(v).lower() if isinstance(v, bool) else v}"
    return f"make {f} {vt}" if style == "change" else f"set {f} to {vt}"


def _set_field_text(a: dict) -> str:
    add = a.get("mode") == "add"
    return f"{'add' if add else 'set'} {a['value']} {'to' if add else 'as'} {a['field']}"


_SET_FIELD = Op(
    "set_field",
    {
        "field": FIELD,
        "value": {"type": ["number", "boolean", "string"]},
        "mode": {"enum": ["set", "add"]},
    },
    ("field", "value"),
    csharp=_set_field_cs,
    describe=_set_field_text,
    phrases=(
        ("set_field.to", False, lambda a, r: _set_words(a, r, "to")),
        ("set_field.change", False, lambda a, r: _set_words(a, r, "change")),
        ("set_field.code", True, lambda a, r: _set_words(a, r, "code")),
        ("set_field.natural", False, _set_natural),
    ),
    draw=_set_field_draw,
    interpret=_set_field_run,
    pattern=lambda a: (
        rf"(\b{a['field']}\s*(\+|-)?=(?!=)|\b{a['field']}\s*(\+\+|--)|(\+\+|--)\s*{a['field']}\b)"
    ),
    declares=lambda a: (a.get("field"), value_type(a.get("value"))),
    check=_set_field_check,
    differs=_set_field_differs,
)

_LOG = Op(
    "log",
    {"message": {"type": "string", "maxLength": 200}},
    ("message",),
    csharp=lambda a, e: [f"Debug.Log({cs_string(a['message'])});"],
    describe=lambda a: f"log '{a['message']}'",
    phrases=(
        (
            "log.log",
            False,
            lambda a, r: r.choice(
                [f"log '{a['message']}'", f'log "{a["message"]}"', f"log {a['message']}"]
            ),
        ),
        (
            "log.print",
            False,
            lambda a, r: r.choice(
                [f"print {a['message']}", f"print '{a['message']}'", f'print "{a["message"]}"']
            ),
        ),
        ("log.console", True, lambda a, r: f"write '{a['message']}' to the console"),
        ("log.natural", False, _log_natural),
    ),
    draw=lambda d: {"op": "log", "message": d.rng.choice(WORDS)},
    interpret=lambda a, w, event, other, time: w.emit("log", a["message"]),
    pattern=lambda a: r"(\bDebug\.Log\w*\s*\(|\bprint\s*\()",
    differs=_text_differs("message", "log"),
)

_CUSTOM = Op(
    "custom",
    {"text": {"type": "string", "minLength": 1, "maxLength": 1000}},
    ("text",),
    csharp=lambda a, e: [f"// TODO: {line}" for line in a["text"].splitlines() or [""]],
    describe=lambda a: a["text"],
    phrases=(("custom.text", False, lambda a, r: a["text"]),),
    draw=lambda d: {"op": "custom", "text": d.rng.choice(CUSTOM_TEXTS)},
    differs=_text_differs("text", "custom text"),
)

# op name → its definition, in the schema's order (synthgen draws them in this order too)
TABLE: dict[str, Op] = {
    op.name: op
    for op in (
        _ROTATE,
        _TRANSLATE,
        _APPLY_FORCE,
        _SPAWN,
        _DESTROY,
        _PLAY_SOUND,
        _SET_ACTIVE,
        _SET_FIELD,
        _LOG,
        _CUSTOM,
    )
}


def op(name: str) -> Op:
    """The definition of op ``name`` (a ValueError names an unknown one)."""
    try:
        return TABLE[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}") from None
