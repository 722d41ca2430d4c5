"""A procedural IR generator: seeded, diverse specs plus a plain-English prompt for each.

``random_ir(rng, size)`` draws a valid IR document (fields first, then behaviours whose ops
refer to those fields); ``describe(ir)`` writes the request a user would type for it. With
the rule generator this makes (prompt, IR, code) triplets with no network and no model.

Trigger kinds are drawn by :data:`KIND_WEIGHTS` (per-frame 30%, contact and key 20% each,
one-shot and timer 15% each: closer to what people ask for than a fifth each, which left
"a coin that spins" rare), events within a kind by :data:`EVENT_WEIGHTS`, ops evenly except
``custom`` (:data:`CUSTOM_WEIGHT`: a model that saw it as often as a typed op reached for it
whenever a wording was new), and ``contrast(rng, ir)`` makes a spec's minimal pair: the same spec
with a key trigger or held-key condition added or taken away. A small model trained on the
old draw (key_down 1 in 10, a held key mostly on one-shot events) learned that an ``if
(Input.GetKey(KeyCode.…))`` may open any method, and filled the key in with the event's own
name (``KeyCode.Update``, CS0117: 6 of its 7 compile failures); a pair that differs only in
the key shows that the guard comes from the IR's ``key`` and from nothing else.
"""

from __future__ import annotations

import copy
import random

import attrs

from .ir import IR_VERSION, KEYS, validate

# re-exported: what custom ops say (every op's draw is in almost_irgen.ops)
from .ops import CUSTOM_TEXTS as CUSTOM_TEXTS
from .ops import TABLE, Draw
from .ops import WORDS as _WORDS
from .ops import round_amount as _round

_NOUNS = ["Coin", "Door", "Enemy", "Player", "Turret", "Platform", "Crate", "Gem", "Rocket", "Drone",
          "Lamp", "Fan", "Spike", "Portal", "Ball", "Wheel", "Bell", "Orb", "Trap", "Gate", "Bird", "Star"]
_ROLES = ["Spinner", "Mover", "Spawner", "Controller", "Trigger", "Pickup", "Launcher", "Logger",
          "Switch", "Timer", "Bouncer", "Guard", "Emitter", "Handler", "Sound", "Killer"]
_TAGS = ["Player", "Enemy", "Bullet", "Pickup", "Ground"]
INTERVALS = [0.5, 1, 1.5, 2, 3, 4, 5, 10]

# trigger kind → its events; random_ir draws a kind evenly, then an event of that kind
TRIGGER_KINDS = {"once": ("awake", "start", "on_enable"), "frame": ("update", "fixed_update"),
                 "contact": ("on_trigger_enter", "on_collision_enter"), "key": ("key_down",), "timer": ("timer",)}
KIND_WEIGHTS = {"once": 0.15, "frame": 0.3, "contact": 0.2, "key": 0.2, "timer": 0.15}
EVENT_WEIGHTS = {"awake": 1, "start": 2, "on_enable": 1, "update": 3, "fixed_update": 1}  # others: 1
CUSTOM_WEIGHT = 0.25  # the free-text op's weight against 1 for each typed op
CONTACT = TRIGGER_KINDS["contact"]
# a held key means something where the code runs while keys can change: not in one-shot events
KEY_HELD_EVENTS = ("update", "fixed_update", "timer", "key_down", *CONTACT)


def trigger_kind(event: str) -> str:
    return next((k for k, events in TRIGGER_KINDS.items() if event in events), "once")


def has_key(beh: dict) -> bool:
    """Whether a behaviour reads the keyboard (a key_down trigger or a held-key condition)."""
    return beh["trigger"]["event"] == "key_down" or beh.get("condition", {}).get("kind") == "key_held"


@attrs.define
class Size:
    """How big generated specs get (the tiny profile keeps them short so the C# is short)."""

    max_fields: int = 3
    max_behaviours: int = 2
    max_actions: int = 2


def random_ir(rng: random.Random, size: Size = Size()) -> dict:
    fields: list[dict] = []
    names: set[str] = set()

    def add_field(kind: str) -> str:
        stem = {"float": ["speed", "power", "rate", "range", "delay"], "int": ["health", "score", "count", "lives"],
                "bool": ["armed", "isOpen", "active"], "string": ["label", "title"],
                "Vector3": ["offset", "direction"], "GameObject": ["prefab", "target", "door", "effect"],
                "AudioClip": ["clip", "hitSound", "jingle"]}[kind]
        for name in rng.sample(stem, len(stem)):
            if name not in names:
                break
        else:
            name = f"{stem[0]}{len(names)}"
        names.add(name)
        f = {"name": name, "type": kind}
        default = {"float": lambda: _round(rng.choice([0.5, 1, 2, 5, 10, 45, 90, 180])),
                   "int": lambda: rng.choice([0, 1, 3, 5, 10, 100]), "bool": lambda: rng.random() < 0.5,
                   "string": lambda: rng.choice(_WORDS), "Vector3": lambda: [rng.choice([0, 1, -1]) for _ in range(3)],
                   "GameObject": lambda: None, "AudioClip": lambda: None}[kind]()
        if default is not None:
            f["default"] = default
        fields.append(f)
        return name

    def field_of(kinds: tuple[str, ...]) -> str:
        have = [f["name"] for f in fields if f["type"] in kinds]
        if have and (rng.random() < 0.6 or len(fields) >= size.max_fields):
            return rng.choice(have)
        return add_field(rng.choice(kinds))

    comps: list[str] = []
    behaviours = []
    op_names = list(TABLE)  # read at each call: a plugin or a test may add an op to the table
    op_weights = [CUSTOM_WEIGHT if name == "custom" else 1.0 for name in op_names]
    for _ in range(rng.randint(1, size.max_behaviours)):
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        events = TRIGGER_KINDS[kind]
        event = rng.choices(events, weights=[EVENT_WEIGHTS.get(e, 1) for e in events])[0]
        trig = _trigger(rng, event)
        beh: dict = {"trigger": trig}
        if rng.random() < (0.5 if event in CONTACT else 0.3):  # a contact's tag check is the common case
            beh["condition"] = _condition(rng, event, field_of)
        actions = []
        draw = Draw(rng, event, field_of, lambda name: next(f["type"] for f in fields if f["name"] == name))
        for _ in range(rng.randint(1, size.max_actions)):
            op = TABLE[rng.choices(op_names, weights=op_weights)[0]]
            act = op.draw(draw)
            if op.component:
                comps.append(op.component)
            actions.append(act)
        beh["actions"] = actions
        behaviours.append(beh)
    ir = {"ir_version": IR_VERSION, "class_name": rng.choice(_NOUNS) + rng.choice(_ROLES)}
    if comps:
        ir["components"] = sorted(set(comps))
    if fields:
        ir["fields"] = fields
    ir["behaviours"] = behaviours
    return validate(ir)


def _condition(rng: random.Random, event: str, field_of) -> dict:
    if event in CONTACT and rng.random() < 0.7:
        return {"kind": "tag", "tag": rng.choice(_TAGS)}
    if event in KEY_HELD_EVENTS and rng.random() < 0.5:
        return {"kind": "key_held", "key": rng.choice(KEYS)}
    return {"kind": "compare", "field": field_of(("int", "float")),
            "cmp": rng.choice(["<", ">", "<=", ">=", "!="]), "value": rng.choice([0, 1, 10, 100])}


def _trigger(rng: random.Random, event: str) -> dict:
    trig: dict = {"event": event}
    if event == "key_down":
        trig["key"] = rng.choice(KEYS)
    if event == "timer":
        trig["interval_s"] = rng.choice(INTERVALS)
    return trig


def contrast(rng: random.Random, ir: dict) -> dict:
    """``ir``'s minimal pair: one behaviour gains a key (a key_down trigger or a held-key
    condition) or loses it (a non-key trigger, the held key dropped); all else is unchanged."""
    out = copy.deepcopy(ir)
    beh = rng.choice(out["behaviours"])
    event, cond = beh["trigger"]["event"], beh.get("condition")
    if has_key(beh):
        if cond and cond["kind"] == "key_held":
            del beh["condition"]
        if event == "key_down":  # mostly the per-frame Update a key_down lives in: the sharpest contrast
            kinds = ["frame", "frame", "once", "timer"] + (["contact"] if "condition" not in beh else [])
            beh["trigger"] = _trigger(rng, rng.choice(TRIGGER_KINDS[rng.choice(kinds)]))
    elif event in CONTACT or (event in KEY_HELD_EVENTS and not cond and rng.random() < 0.5):
        # a contact event keeps its event ('destroy other' needs it); a tag check becomes a held key
        beh["condition"] = {"kind": "key_held", "key": rng.choice(KEYS)}
    else:
        beh["trigger"] = _trigger(rng, "key_down")
    return validate(out)


_WHEN = {"awake": "when it wakes", "start": "at start", "update": "every frame", "fixed_update": "every physics step",
         "on_enable": "when enabled", "on_disable": "when disabled", "on_trigger_enter": "when something enters its trigger",
         "on_collision_enter": "when it collides"}


def _action_text(a: dict) -> str:
    return TABLE[a["op"]].describe(a)


def describe(ir: dict) -> str:
    """The plain-English request for ``ir``."""
    parts = []
    for beh in ir["behaviours"]:
        t = beh["trigger"]
        when = (f"when {t['key']} is pressed" if t["event"] == "key_down" else
                f"every {t['interval_s']} s" if t["event"] == "timer" else _WHEN[t["event"]])
        cond = beh.get("condition")
        if cond:
            when += {"compare": lambda c: f" if {c['field']} {c['cmp']} {c['value']}",
                     "tag": lambda c: f" with a {c['tag']}",
                     "key_held": lambda c: f" while {c['key']} is held"}[cond["kind"]](cond)
        parts.append(f"{when}, " + " and ".join(_action_text(a) for a in beh["actions"]))
    return f"Make a Unity script {ir['class_name']} that " + "; ".join(parts) + "."
