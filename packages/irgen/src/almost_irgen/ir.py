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
typed ops; ``custom`` keeps free text so the seed's free-form actions still fit.

:func:`validate` checks the schema (``jsonschema``) and then the references the schema cannot
express (fields that exist and have the right type, unique names, required components);
every problem is reported with its JSON path (``behaviours[0].actions[1].axis``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from almost.errors import UserError

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

_IDENT = "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_FIELD_NAME_PATTERN = "^[a-z_][A-Za-z0-9_]{0,63}$"  # a declared field (a C# field name)
_NUM = {"type": "number"}
_VEC3 = {"type": "array", "items": _NUM, "minItems": 3, "maxItems": 3}
_NUM_OR_FIELD = {"oneOf": [_NUM, {"type": "string", "pattern": _IDENT}]}


def _op(name: str, props: dict, required: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "properties": {"op": {"const": name}, **props},
        "required": ["op", *required],
        "additionalProperties": False,
    }


ACTION_SCHEMAS: dict[str, dict] = {
    "rotate": _op("rotate", {"axis": {"enum": ["x", "y", "z"]}, "degrees_per_second": _NUM_OR_FIELD},
                  ("axis", "degrees_per_second")),
    "translate": _op("translate", {"direction": _VEC3, "speed": _NUM_OR_FIELD}, ("direction", "speed")),
    "apply_force": _op("apply_force", {"force": _VEC3, "mode": {"enum": ["Force", "Impulse"]}}, ("force",)),
    "spawn": _op("spawn", {"prefab_field": {"type": "string", "pattern": _IDENT}}, ("prefab_field",)),
    "destroy": _op("destroy", {"target": {"enum": ["self", "other"]},
                               "delay_s": {"type": "number", "minimum": 0}}, ("target",)),
    "play_sound": _op("play_sound", {"clip_field": {"type": "string", "pattern": _IDENT}}, ("clip_field",)),
    "set_active": _op("set_active", {"target_field": {"type": "string", "pattern": _IDENT},
                                     "active": {"type": "boolean"}}, ("target_field", "active")),
    "set_field": _op("set_field", {"field": {"type": "string", "pattern": _IDENT},
                                   "value": {"type": ["number", "boolean", "string"]},
                                   "mode": {"enum": ["set", "add"]}}, ("field", "value")),
    "log": _op("log", {"message": {"type": "string", "maxLength": 200}}, ("message",)),
    "custom": _op("custom", {"text": {"type": "string", "minLength": 1, "maxLength": 1000}}, ("text",)),
}
OPS = tuple(ACTION_SCHEMAS)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"https://almost.dev/irgen/ir-{IR_VERSION}.schema.json",
    "title": "Unity behaviour spec (Almost irgen IR)",
    "type": "object",
    "properties": {
        "ir_version": {"const": IR_VERSION},
        "class_name": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9_]{0,63}$"},
        "components": {"type": "array", "items": {"enum": list(COMPONENTS)}, "uniqueItems": True},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "pattern": _FIELD_NAME_PATTERN},
                    "type": {"enum": list(FIELD_TYPES)},
                    "default": {"type": ["number", "boolean", "string", "array", "null"]},
                },
                "required": ["name", "type"],
                "additionalProperties": False,
            },
        },
        "behaviours": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "trigger": {
                        "type": "object",
                        "properties": {
                            "event": {"enum": list(TRIGGERS)},
                            "key": {"enum": list(KEYS)},
                            "interval_s": {"type": "number", "exclusiveMinimum": 0},
                        },
                        "required": ["event"],
                        "additionalProperties": False,
                    },
                    "condition": {
                        "oneOf": [
                            {"type": "object", "properties": {
                                "kind": {"const": "compare"},
                                "field": {"type": "string", "pattern": _IDENT},
                                "cmp": {"enum": ["<", "<=", ">", ">=", "==", "!="]},
                                "value": _NUM}, "required": ["kind", "field", "cmp", "value"],
                             "additionalProperties": False},
                            {"type": "object", "properties": {
                                "kind": {"const": "tag"}, "tag": {"type": "string", "pattern": _IDENT}},
                             "required": ["kind", "tag"], "additionalProperties": False},
                            {"type": "object", "properties": {
                                "kind": {"const": "key_held"}, "key": {"enum": list(KEYS)}},
                             "required": ["kind", "key"], "additionalProperties": False},
                        ]
                    },
                    "actions": {"type": "array", "minItems": 1,
                                "items": {"type": "object", "required": ["op"],
                                          "properties": {"op": {"enum": list(OPS)}}}},
                },
                "required": ["trigger", "actions"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["ir_version", "class_name", "behaviours"],
    "additionalProperties": False,
}


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

    validator = jsonschema.Draft202012Validator(SCHEMA)
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
            sub = jsonschema.Draft202012Validator(ACTION_SCHEMAS[act["op"]])
            for err in sub.iter_errors(act):
                problems.append((_path(["behaviours", bi, "actions", ai, *err.absolute_path]), err.message))
    return problems


_DEFAULT_OK = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "Vector3": lambda v: isinstance(v, list) and len(v) == 3
    and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v),
    "GameObject": lambda v: v is None,
    "AudioClip": lambda v: v is None,
}
_NEEDS_COMPONENT = {"apply_force": "Rigidbody", "play_sound": "AudioSource"}
_FIELD_REFS = {  # op → (key, allowed field types)
    "rotate": ("degrees_per_second", ("float", "int")),
    "translate": ("speed", ("float", "int")),
    "spawn": ("prefab_field", ("GameObject",)),
    "play_sound": ("clip_field", ("AudioClip",)),
    "set_active": ("target_field", ("GameObject",)),
}


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
        if "default" in f and not _DEFAULT_OK[f["type"]](f["default"]):
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
            at = f"behaviours[{bi}].actions[{ai}]"
            need = _NEEDS_COMPONENT.get(act["op"])
            if need and need not in comps:
                problems.append((at, f"{act['op']} needs {need!r} in components"))
            if act["op"] in _FIELD_REFS:
                key, allowed = _FIELD_REFS[act["op"]]
                ref = act[key]
                if isinstance(ref, str) and types.get(ref) not in allowed:
                    problems.append((f"{at}.{key}", f"expected a declared {' or '.join(allowed)} field, got {ref!r}"))
            if act["op"] == "set_field":
                ftype = types.get(act["field"])
                if ftype not in ("int", "float", "bool", "string"):
                    problems.append((f"{at}.field", f"expected a declared int, float, bool or string field, got {act['field']!r}"))
                elif not _DEFAULT_OK[ftype](act["value"]):
                    problems.append((f"{at}.value", f"expected a {ftype} value for field {act['field']!r}, got {act['value']!r}"))
                elif act.get("mode") == "add" and ftype not in ("int", "float"):
                    problems.append((f"{at}.mode", "'add' needs an int or float field"))
            if act["op"] == "destroy" and act["target"] == "other" and trig["event"] not in (
                    "on_trigger_enter", "on_collision_enter"):
                problems.append((f"{at}.target", "'other' needs an on_trigger_enter or on_collision_enter trigger"))
    return problems


def implied_components(ir: Any) -> list[str]:
    """The components the IR's ops require (``apply_force`` → Rigidbody, ``play_sound`` →
    AudioSource), in :data:`COMPONENTS` order; [] for anything that is not IR-shaped."""
    need = set()
    if isinstance(ir, dict) and isinstance(ir.get("behaviours"), list):
        for beh in ir["behaviours"]:
            for act in (beh.get("actions") if isinstance(beh, dict) else None) or []:
                if isinstance(act, dict) and act.get("op") in _NEEDS_COMPONENT:
                    need.add(_NEEDS_COMPONENT[act["op"]])
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


def _value_type(v: Any) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "string" if isinstance(v, str) else None


def complete_fields(ir: Any) -> tuple[Any, list[str]]:
    """``(ir with every field its ops name declared, "name: type" for each field added)``.

    An op that names a field fixes the field's type: ``spawn``'s ``prefab_field`` and
    ``set_active``'s ``target_field`` are GameObjects, ``play_sound``'s ``clip_field`` an
    AudioClip, a ``rotate``/``translate`` amount given as a name a float, and ``set_field`` the
    type of the value it sets. A field added here has no default (C#'s zero value: a reference is
    assigned in the Inspector, as Unity users do), since a sentence that says "spawn prefab"
    says nothing more. Like :func:`complete_components` this is for a model's sentence → IR
    answer only; a name declared with another type is left for :func:`validate` to reject.
    """
    if not isinstance(ir, dict) or not isinstance(ir.get("behaviours"), list) or not isinstance(ir.get("fields", []), list):
        return ir, []
    declared = {f.get("name") for f in ir.get("fields", []) if isinstance(f, dict)}
    added: list[dict] = []
    for beh in ir["behaviours"]:
        for act in (beh.get("actions") if isinstance(beh, dict) else None) or []:
            if not isinstance(act, dict):
                continue
            op = act.get("op")
            if op in _FIELD_REFS:
                key, allowed = _FIELD_REFS[op]
                name, ftype = act.get(key), allowed[0]
            elif op == "set_field":
                name, ftype = act.get("field"), _value_type(act.get("value"))
            else:
                continue
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
