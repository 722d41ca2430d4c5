"""Conformance of C# code to its IR: does the code do what the spec says?

Compile rate alone rewards wrong code (an empty class compiles). Each IR implies checks:
the class name (deriving from ``MonoBehaviour``), each field with its type, each required
component, the lifecycle method of each trigger, the key or timer of a trigger, and the
Unity API call each typed op implies (``rotate`` → ``.Rotate(``, ``spawn`` →
``Instantiate(`` ...). ``custom`` ops imply nothing checkable. The score of one program is
the fraction of its checks that pass; :func:`check` also returns the failed ones by name.
This is the fast static first pass: :mod:`almost_irgen.unitysim` runs the code and checks
what each op does (axis, speed, condition, target).
"""

from __future__ import annotations

import re

from .ops import TABLE
from .rules import METHODS

# a key_down trigger's key as KeyCode, as a key name, or as the button / mouse button bound to it
_KEY_NAMES = {"Space": ("space", "Jump"), "Return": ("return", "enter", "Submit"), "Escape": ("escape", "Cancel"),
              "LeftShift": ("left shift",), "Mouse0": ("Fire1",)}
_TYPE_RE = {"string": r"(string|String)", "Vector3": "Vector3", "int": "int", "float": "float",
            "bool": "bool", "GameObject": "GameObject", "AudioClip": "AudioClip"}


def _strip_comments(code: str) -> str:
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    return re.sub(r"//[^\n]*", " ", code)


def checks(ir: dict) -> list[tuple[str, str]]:
    """``(name, regex)`` pairs that conforming code matches."""
    out = [(f"class {ir['class_name']}", rf"\bclass\s+{ir['class_name']}\s*:\s*(UnityEngine\.)?MonoBehaviour\b")]
    for f in ir.get("fields", []):
        out.append((f"field {f['name']}", rf"\b{_TYPE_RE[f['type']]}\s+{f['name']}\s*(=|;|{{)"))  # or a property
    for c in ir.get("components", []):
        out.append((f"component {c}", rf"(typeof\s*\(\s*{c}\s*\)|GetComponent\s*<\s*{c}\s*>|\b{c}\.\w+\s*\()"))
    for i, beh in enumerate(ir["behaviours"]):
        trig = beh["trigger"]
        method = METHODS[trig["event"]].split("(")[0].split()[-1]
        if trig["event"] == "timer":  # Update, or InvokeRepeating / a coroutine from anywhere
            out.append((f"behaviours[{i}] timer", r"(\bvoid\s+Update\s*\(.*(Time\.deltaTime|Time\.time)|InvokeRepeating|WaitForSeconds)"))
        else:
            out.append((f"behaviours[{i}] method {method}", rf"\b(void|IEnumerator)\s+{method}\s*\("))
        if trig["event"] == "key_down":
            k = trig["key"]
            names = [_KEY_NAMES.get(k, (k.lower(),))[0], *_KEY_NAMES.get(k, ())[1:]]
            alts = [rf"GetKeyDown\s*\(\s*KeyCode\.{k}\b"] + [rf"Get(Key|Button)Down\s*\(\s*\"{n}\"" for n in names]
            if k.startswith("Mouse"):
                alts.append(rf"GetMouseButtonDown\s*\(\s*{k[5:]}\s*\)")
            out.append((f"behaviours[{i}] key {k}", "(" + "|".join(alts) + ")"))
        for j, act in enumerate(beh["actions"]):
            pattern = TABLE[act["op"]].pattern  # the Unity call (or the usual hand-written equivalents)
            if pattern is not None:
                out.append((f"behaviours[{i}].actions[{j}] {act['op']}", pattern(act)))
    return out


_DECL = re.compile(r"\b((?:int|float|bool|string|double|Vector3|GameObject|AudioClip)\s+\w+)\s*=(?!=)")


def check(ir: dict, code: str) -> tuple[float, list[str]]:
    """``(fraction of checks passed, names of the failed checks)``."""
    code = _strip_comments(code)
    body = _DECL.sub(r"\1 :init", code)  # a declaration's initialiser is not an assignment
    todo = checks(ir)
    failed = [name for name, pattern in todo
              if not re.search(pattern, body if name.endswith(" set_field") else code, re.S)]
    return 1.0 - len(failed) / len(todo), failed
