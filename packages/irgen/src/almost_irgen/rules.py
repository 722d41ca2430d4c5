"""The offline reference generator: IR → C# 7.3 by rules, and the ``sampler/rules`` component.

Every typed op has one rule; the output compiles with mono's ``mcs`` against the shipped
``UnityEngine`` stub. It is the offline data source of ``synth``, the baseline row of every
evaluation table, and a :class:`~almost.protocols.Sampler` (conditions are IR dicts, samples
are C# source strings; it is deterministic, so the generator is ignored).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# trigger event → the Unity method it lives in, with its signature
METHODS = {
    "awake": "void Awake()",
    "start": "void Start()",
    "update": "void Update()",
    "fixed_update": "void FixedUpdate()",
    "on_enable": "void OnEnable()",
    "on_disable": "void OnDisable()",
    "on_trigger_enter": "void OnTriggerEnter(Collider other)",
    "on_collision_enter": "void OnCollisionEnter(Collision collision)",
    "key_down": "void Update()",
    "timer": "void Update()",
}
METHOD_ORDER = ("awake", "on_enable", "start", "update", "fixed_update", "on_disable",
                "on_trigger_enter", "on_collision_enter")
AXES = {"x": "Vector3.right", "y": "Vector3.up", "z": "Vector3.forward"}


def _num(v: float) -> str:
    """A C# float literal."""
    if isinstance(v, bool):
        raise TypeError("bool is not a number")
    text = repr(float(v))
    if "e" in text or "inf" in text or "nan" in text:
        text = f"{float(v):.6f}"
    return text.rstrip("0").rstrip(".") + "f" if "." in text else text + "f"


def _ref(v: Any) -> str:
    return v if isinstance(v, str) else _num(v)


def _str(s: str) -> str:
    return json.dumps(s, ensure_ascii=True)  # a valid C# regular string literal


def _vec(v: Sequence[float]) -> str:
    return f"new Vector3({', '.join(_num(x) for x in v)})"


def field_line(f: dict) -> str:
    t, name, d = f["type"], f["name"], f.get("default")
    if t == "float":
        return f"public float {name} = {_num(d if d is not None else 0)};"
    if t == "int":
        return f"public int {name} = {int(d or 0)};"
    if t == "bool":
        return f"public bool {name} = {'true' if d else 'false'};"
    if t == "string":
        return f"public string {name} = {_str(d or '')};"
    if t == "Vector3":
        return f"public Vector3 {name} = {_vec(d or [0, 0, 0])};"
    return f"public {t} {name};"


def action_lines(act: dict, event: str) -> list[str]:
    op = act["op"]
    if op == "rotate":
        per = "Time.fixedDeltaTime" if event == "fixed_update" else "Time.deltaTime"
        once = event not in ("update", "fixed_update")  # per-second amounts; one-shot events apply them once
        amount = _ref(act["degrees_per_second"])
        scale = "" if once else f" * {per}"
        return [f"transform.Rotate({AXES[act['axis']]} * {amount}{scale});"]
    if op == "translate":
        per = "Time.fixedDeltaTime" if event == "fixed_update" else "Time.deltaTime"
        once = event not in ("update", "fixed_update")  # per-second amounts; one-shot events apply them once
        scale = "" if once else f" * {per}"
        return [f"transform.Translate({_vec(act['direction'])} * {_ref(act['speed'])}{scale});"]
    if op == "apply_force":
        mode = act.get("mode", "Force")
        return [f"GetComponent<Rigidbody>().AddForce({_vec(act['force'])}, ForceMode.{mode});"]
    if op == "spawn":
        return [f"Instantiate({act['prefab_field']}, transform.position, transform.rotation);"]
    if op == "destroy":
        target = "gameObject" if act["target"] == "self" else _other(event)
        delay = act.get("delay_s", 0)
        return [f"Destroy({target}, {_num(delay)});" if delay else f"Destroy({target});"]
    if op == "play_sound":
        return [f"GetComponent<AudioSource>().PlayOneShot({act['clip_field']});"]
    if op == "set_active":
        return [f"{act['target_field']}.SetActive({'true' if act['active'] else 'false'});"]
    if op == "set_field":
        v = act["value"]
        if isinstance(v, bool):
            lit = "true" if v else "false"
        elif isinstance(v, str):
            lit = _str(v)
        else:
            lit = str(v) if isinstance(v, int) else _num(v)
        return [f"{act['field']} {'+=' if act.get('mode') == 'add' else '='} {lit};"]
    if op == "log":
        return [f"Debug.Log({_str(act['message'])});"]
    if op == "custom":
        return [f"// TODO: {line}" for line in act["text"].splitlines() or [""]]
    raise ValueError(f"unknown op {op!r}")


def _other(event: str) -> str:
    return "collision.gameObject" if event == "on_collision_enter" else "other.gameObject"


def condition_expr(cond: dict, event: str) -> str:
    if cond["kind"] == "compare":
        return f"{cond['field']} {cond['cmp']} {_num(cond['value'])}"
    if cond["kind"] == "tag":
        return f"{_other(event)}.CompareTag({_str(cond['tag'])})"
    return f"Input.GetKey(KeyCode.{cond['key']})"


def generate(ir: dict) -> str:
    """C# source for a valid IR document (see :func:`almost_irgen.ir.validate`)."""
    lines = ["using UnityEngine;", ""]
    for comp in ir.get("components", []):
        lines.append(f"[RequireComponent(typeof({comp}))]")
    lines += [f"public class {ir['class_name']} : MonoBehaviour", "{"]
    members = [field_line(f) for f in ir.get("fields", [])]
    timers = [i for i, b in enumerate(ir["behaviours"]) if b["trigger"]["event"] == "timer"]
    members += [f"private float _timer{i};" for i in timers]
    lines += ["    " + m for m in members]
    bodies: dict[str, list[str]] = {}
    for i, beh in enumerate(ir["behaviours"]):
        trig = beh["trigger"]
        event = trig["event"]
        body = [s for a in beh["actions"] for s in action_lines(a, event)]
        guards = []
        if event == "key_down":
            guards.append(f"Input.GetKeyDown(KeyCode.{trig['key']})")
        if beh.get("condition"):
            guards.append(condition_expr(beh["condition"], event))
        if event == "timer":
            body = [f"_timer{i} = 0f;", *body]
            block = [f"_timer{i} += Time.deltaTime;", f"if (_timer{i} >= {_num(trig['interval_s'])}" +
                     (f" && {' && '.join(guards)})" if guards else ")"), "{", *["    " + s for s in body], "}"]
        elif guards:
            block = [f"if ({' && '.join(guards)})", "{", *["    " + s for s in body], "}"]
        else:
            block = body
        method = "update" if event in ("key_down", "timer") else event
        bodies.setdefault(method, []).extend(block)
    for method in METHOD_ORDER:
        if method not in bodies:
            continue
        if lines[-1] != "{":
            lines.append("")
        lines += [f"    {METHODS[method]}", "    {", *["        " + s for s in bodies[method]], "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


class RulesSampler:
    """``sampler/rules``: IR dicts in, C# source out, by rules (deterministic)."""

    name = "rules"

    def example_conditions(self) -> list[dict]:
        """A few valid IR specs (used by ``almost.testing.check_sampler``)."""
        import random

        from .synthgen import random_ir

        return [random_ir(random.Random(i)) for i in range(3)]

    def sample(self, conditions: Sequence[Any], *, generator: Any = None) -> list[str]:
        from .ir import loads, validate

        out = []
        for c in conditions:
            ir = loads(c) if isinstance(c, str) else validate(c)
            out.append(generate(ir))
        return out
