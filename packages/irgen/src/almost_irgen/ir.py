"""The IR: a versioned JSON Schema for Unity behaviour specs, and its validator.

An IR document describes one ``MonoBehaviour``::

    {"ir_version": "1.0", "class_name": "Spinner", "components": ["Rigidbody"],
     "fields": [{"name": "speed", "type": "float", "default": 90}],
     "behaviours": [{"trigger": {"event": "update"},
                     "actions": [{"op": "rotate", "axis": "y", "degrees_per_second": "speed"}]}]}

A trigger is a lifecycle event (``awake``, ``start``, ``update``, ``fixed_update``,
``on_enable``, ``on_disable``, ``on_trigger_enter``, ``on_collision_enter``), a key press
(``key_down`` + ``key``) or a repeating ``timer`` (``interval_s``). A behaviour may carry a
``condition`` (compare a field, check the other object's tag, or a key held). Actions are
typed ops, each defined once in :data:`almost_irgen.ops.TABLE` (its keys, the component it needs,
the fields it names); ``custom`` keeps free text so the seed's free-form actions still fit.
:func:`schema` and the validator read the table when they run.

:func:`validate` checks the schema (``jsonschema``) and then the references the schema cannot
express (fields that exist and have the right type, unique names, required components);
every problem is reported with its JSON path (``behaviours[0].actions[1].axis``).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from almost.errors import UserError

from .ops import IDENT, NUM, TABLE, VALUE_OK

IR_VERSION = "1.0"

TRIGGERS = ("awake", "start", "update", "fixed_update", "on_enable", "on_disable",
            "on_trigger_enter", "on_collision_enter", "key_down", "timer")
FIELD_TYPES = ("int", "float", "bool", "string", "Vector3", "GameObject", "AudioClip")
COMPONENTS = ("Rigidbody", "AudioSource", "Collider", "Renderer", "Light", "Animator")
# the keys people name in requests ("press F", "the left arrow"); P and O stay out: unitysim presses them as decoys
KEYS = ("Space", "Return", "Escape", "W", "A", "S", "D", "E", "Q", "F", "R", "LeftShift", "Mouse0",
        "UpArrow", "DownArrow", "LeftArrow", "RightArrow")
CS_KEYWORDS = frozenset(
    "abstract as base bool break byte case catch char checked class const continue decimal "
    "default delegate do double else enum event explicit extern false finally fixed float for "
    "foreach goto if implicit in int interface internal is lock long namespace new null object "
    "operator out override params private protected public readonly ref return sbyte sealed "
    "short sizeof stackalloc static string struct switch this throw true try typeof uint ulong "
    "unchecked unsafe ushort using virtual void volatile while".split()
)

_IDENT = IDENT
_FIELD_NAME_PATTERN = "^[a-z_][A-Za-z0-9_]{0,63}$"  # a declared field (a C# field name)


def action_schemas() -> dict[str, dict]:
    """Op name → the JSON Schema of its actions, from :data:`almost_irgen.ops.TABLE`."""
    return {name: op.schema() for name, op in TABLE.items()}


_FIELD = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": _FIELD_NAME_PATTERN},
        "type": {"enum": list(FIELD_TYPES)},
        "default": {"type": ["number", "boolean", "string", "array", "null"]},
    },
    "required": ["name", "type"],
    "additionalProperties": False,
}
_TRIGGER = {
    "type": "object",
    "properties": {
        "event": {"enum": list(TRIGGERS)},
        "key": {"enum": list(KEYS)},
        "interval_s": {"type": "number", "exclusiveMinimum": 0},
    },
    "required": ["event"],
    "additionalProperties": False,
}
_CONDITION = {
    "oneOf": [
        {"type": "object", "properties": {
            "kind": {"const": "compare"},
            "field": {"type": "string", "pattern": _IDENT},
            "cmp": {"enum": ["<", "<=", ">", ">=", "==", "!="]},
            "value": NUM}, "required": ["kind", "field", "cmp", "value"],
         "additionalProperties": False},
        {"type": "object", "properties": {
            "kind": {"const": "tag"}, "tag": {"type": "string", "pattern": _IDENT}},
         "required": ["kind", "tag"], "additionalProperties": False},
        {"type": "object", "properties": {
            "kind": {"const": "key_held"}, "key": {"enum": list(KEYS)}},
         "required": ["kind", "key"], "additionalProperties": False},
    ]
}


def schema() -> dict[str, Any]:
    """The IR's JSON Schema (its ``actions`` name the ops of :data:`almost_irgen.ops.TABLE`)."""
    behaviour = {
        "type": "object",
        "properties": {
            "trigger": _TRIGGER,
            "condition": _CONDITION,
            "actions": {"type": "array", "minItems": 1,
                        "items": {"type": "object", "required": ["op"], "properties": {"op": {"enum": list(TABLE)}}}},
        },
        "required": ["trigger", "actions"],
        "additionalProperties": False,
    }
    return copy.deepcopy({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://almost.dev/irgen/ir-{IR_VERSION}.schema.json",
        "title": "Unity behaviour spec (Almost irgen IR)",
        "type": "object",
        "properties": {
            "ir_version": {"const": IR_VERSION},
            "class_name": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9_]{0,63}$"},
            "components": {"type": "array", "items": {"enum": list(COMPONENTS)}, "uniqueItems": True},
            "fields": {"type": "array", "items": _FIELD},
            "behaviours": {"type": "array", "minItems": 1, "items": behaviour},
        },
        "required": ["ir_version", "class_name", "behaviours"],
        "additionalProperties": False,
    })


ACTION_SCHEMAS: dict[str, dict] = action_schemas()  # the table's ops when this module was imported
OPS = tuple(ACTION_SCHEMAS)
SCHEMA: dict[str, Any] = schema()


class IRError(UserError, ValueError):
    """An IR document that does not follow the schema; ``problems`` lists ``(path, message)``."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "IR") -> None:
        self.problems = problems
        path, msg = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{source} is not valid at {path or '$'}: {msg}{more}; fix it to follow IR {IR_VERSION}")


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "$"


def _schema_problems(ir: Any) -> list[tuple[str, str]]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    problems = []
    for err in sorted(validator.iter_errors(ir), key=lambda e: list(map(str, e.absolute_path))):
        msg = err.message
        if err.validator == "oneOf" and isinstance(err.instance, dict):
            msg = "condition must be {kind: compare, field, cmp, value}, {kind: tag, tag} or {kind: key_held, key}"
        problems.append((_path(err.absolute_path), msg))
    if problems:
        return problems
    # the per-op schemas, so an error names the op's own keys
    for bi, beh in enumerate(ir["behaviours"]):
        for ai, act in enumerate(beh["actions"]):
            sub = jsonschema.Draft202012Validator(TABLE[act["op"]].schema())
            for err in sub.iter_errors(act):
                problems.append((_path(["behaviours", bi, "actions", ai, *err.absolute_path]), err.message))
    return problems


def _semantic_problems(ir: dict) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if ir["class_name"] in CS_KEYWORDS or ir["class_name"] == "MonoBehaviour":
        problems.append(("class_name", f"{ir['class_name']!r} is reserved in C#"))
    types: dict[str, str] = {}
    for i, f in enumerate(ir.get("fields", [])):
        if f["name"] in types:
            problems.append((f"fields[{i}].name", f"field {f['name']!r} is declared twice"))
        if f["name"] in CS_KEYWORDS:
            problems.append((f"fields[{i}].name", f"{f['name']!r} is a C# keyword"))
        if "default" in f and not VALUE_OK[f["type"]](f["default"]):
            problems.append((f"fields[{i}].default", f"expected a default of type {f['type']}, got {f['default']!r}"))
        types[f["name"]] = f["type"]
    comps = set(ir.get("components", []))
    for bi, beh in enumerate(ir["behaviours"]):
        trig, where = beh["trigger"], f"behaviours[{bi}].trigger"
        if trig["event"] == "key_down" and "key" not in trig:
            problems.append((where, "a key_down trigger needs 'key'"))
        if trig["event"] == "timer" and "interval_s" not in trig:
            problems.append((where, "a timer trigger needs 'interval_s'"))
        cond = beh.get("condition")
        if cond and cond["kind"] == "compare" and types.get(cond["field"]) not in ("int", "float"):
            problems.append((f"behaviours[{bi}].condition.field",
                             f"expected a declared int or float field, got {cond['field']!r}"))
        if cond and cond["kind"] == "tag" and trig["event"] not in ("on_trigger_enter", "on_collision_enter"):
            problems.append((f"behaviours[{bi}].condition", "a tag condition needs an on_trigger_enter or on_collision_enter trigger"))
        for ai, act in enumerate(beh["actions"]):
            problems += _action_problems(act, f"behaviours[{bi}].actions[{ai}]", types, comps, trig["event"])
    return problems


def _action_problems(act: dict, at: str, types: dict[str, str], comps: set, event: str) -> list[tuple[str, str]]:
    """What is wrong with one (schema-valid) action, by its op's definition in the table."""
    op = TABLE[act["op"]]
    problems = []
    if op.component and op.component not in comps:
        problems.append((at, f"{op.name} needs {op.component!r} in components"))
    if op.field_ref:
        key, allowed = op.field_ref
        ref = act[key]
        if isinstance(ref, str) and types.get(ref) not in allowed:
            problems.append((f"{at}.{key}", f"expected a declared {' or '.join(allowed)} field, got {ref!r}"))
    if op.check:
        problems += op.check(act, at, types, event)
    return problems


def implied_components(ir: Any) -> list[str]:
    """The components the IR's ops require (``apply_force`` → Rigidbody, ``play_sound`` →
    AudioSource), in :data:`COMPONENTS` order; [] for anything that is not IR-shaped."""
    need = set()
    if isinstance(ir, dict) and isinstance(ir.get("behaviours"), list):
        for beh in ir["behaviours"]:
            for act in (beh.get("actions") if isinstance(beh, dict) else None) or []:
                op = TABLE.get(act.get("op")) if isinstance(act, dict) else None
                if op is not None and op.component:
                    need.add(op.component)
    return [c for c in COMPONENTS if c in need]


_KEY_ORDER = ("ir_version", "class_name", "components", "fields", "behaviours")


def in_key_order(ir: dict) -> dict:
    """``ir`` with its top-level keys in the order the synthesised data uses (what a model saw in
    training), any other keys after them. :func:`dumps` writes every IR this way, so a prompt
    looks like the ones the model learnt from whatever order a file or a completed answer
    (:func:`complete_components` appends ``components`` last) has its keys in."""
    return {**{k: ir[k] for k in _KEY_ORDER if k in ir}, **{k: v for k, v in ir.items() if k not in _KEY_ORDER}}


def complete_components(ir: Any) -> tuple[Any, list[str]]:
    """``(ir with every implied component listed, the components that were added)``.

    A component an op requires follows from the op, so an IR that leaves it out can only mean
    one thing; the sentence → IR path completes a model's answer with it instead of rejecting
    it (IR files given by a person are still checked strictly by :func:`validate`)."""
    if not isinstance(ir, dict) or not isinstance(ir.get("components", []), list):
        return ir, []
    have = list(ir.get("components", []))
    added = [c for c in implied_components(ir) if c not in have]
    if not added:
        return ir, []
    return {**ir, "components": have + added}, added


_FIELD_NAME = re.compile(_FIELD_NAME_PATTERN)


def _compared_field(cond: dict) -> tuple[Any, str] | None:
    """A compare condition's field: an int when it is compared with a whole number ("lives < 1"),
    else a float."""
    if cond.get("kind") != "compare" or "op" in cond:
        return None
    v = cond.get("value")
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return cond.get("field"), "int" if isinstance(v, int) else "float"


def complete_fields(ir: Any) -> tuple[Any, list[str]]:
    """``(ir with every field its ops name declared, "name: type" for each field added)``.

    An op that names a field fixes the field's type: ``spawn``'s ``prefab_field`` and
    ``set_active``'s ``target_field`` are GameObjects, ``play_sound``'s ``clip_field`` an
    AudioClip, a ``rotate``/``translate`` amount given as a name a float, ``set_field`` the
    type of the value it sets, and a compare condition the type of the number it compares with
    (``lives < 1``: an int). A field added here has no default (C#'s zero value: a reference is
    assigned in the Inspector, as Unity users do), since a sentence that says "spawn prefab"
    says nothing more. Like :func:`complete_components` this is for a model's sentence → IR
    answer only; a name declared with another type is left for :func:`validate` to reject.
    """
    if not isinstance(ir, dict) or not isinstance(ir.get("behaviours"), list) or not isinstance(ir.get("fields", []), list):
        return ir, []
    declared = {f.get("name") for f in ir.get("fields", []) if isinstance(f, dict)}
    added: list[dict] = []
    for beh in ir["behaviours"]:
        for act in [*((beh.get("actions") if isinstance(beh, dict) else None) or []),
                    (beh.get("condition") if isinstance(beh, dict) else None)]:
            if not isinstance(act, dict):
                continue
            op = TABLE.get(act.get("op"))
            needed = op.needed_field(act) if op is not None else _compared_field(act)
            if needed is None:
                continue
            name, ftype = needed
            if (isinstance(name, str) and ftype and _FIELD_NAME.match(name) and name not in declared):
                declared.add(name)
                added.append({"name": name, "type": ftype})
    if not added:
        return ir, []
    return {**ir, "fields": list(ir.get("fields", [])) + added}, [f"{f['name']}: {f['type']}" for f in added]


def problems(ir: Any) -> list[tuple[str, str]]:
    """All ``(json path, message)`` problems of ``ir``; empty when it is valid."""
    found = _schema_problems(ir)
    return found or _semantic_problems(ir)


def validate(ir: Any, source: str = "IR") -> dict:
    """Return ``ir`` if it is valid, else raise :class:`IRError` naming the first path."""
    found = problems(ir)
    if found:
        raise IRError(found, source)
    return ir


def loads(text: str, source: str = "IR") -> dict:
    """Parse and validate IR JSON text (a code fence around it is tolerated)."""
    m = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if m:
        text = m.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise IRError([("$", f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})")], source) from None
    return validate(data, source)


def dumps(ir: dict) -> str:
    """Compact, canonical JSON (the form models see and dedup keys use): top-level keys in
    :func:`in_key_order`."""
    return json.dumps(in_key_order(ir), separators=(",", ":"), ensure_ascii=False)
