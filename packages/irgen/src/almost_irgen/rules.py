"""The offline reference generator: IR → C# 7.3 by rules, and the ``sampler/rules`` component.

Every typed op has one rule (its ``csharp`` in :data:`almost_irgen.ops.TABLE`); the output compiles with mono's ``mcs`` against the shipped
``UnityEngine`` stub. It is the offline data source of ``synth``, the baseline row of every
evaluation table, and a :class:`~almost.protocols.Sampler` (conditions are IR dicts, samples
are C# source strings; it is deterministic, so the generator is ignored).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .ops import cs_float, cs_other, cs_string, cs_vec, op

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


def field_line(f: dict) -> str:
    t, name, d = f["type"], f["name"], f.get("default")
    if t == "float":
        return f"public float {name} = {cs_float(d if d is not None else 0)};"
    if t == "int":
        return f"public int {name} = {int(d or 0)};"
    if t == "bool":
        return f"public bool {name} = {'true' if d else 'false'};"
    if t == "string":
        return f"public string {name} = {cs_string(d or '')};"
    if t == "Vector3":
        return f"public Vector3 {name} = {cs_vec(d or [0, 0, 0])};"
    return f"public {t} {name};"


def action_lines(act: dict, event: str) -> list[str]:
    """The C# statements of one action in the method of trigger ``event`` (its op's rule in
    :data:`almost_irgen.ops.TABLE`)."""
    return op(act["op"]).csharp(act, event)


def condition_expr(cond: dict, event: str) -> str:
    if cond["kind"] == "compare":
        return f"{cond['field']} {cond['cmp']} {cs_float(cond['value'])}"
    if cond["kind"] == "tag":
        return f"{cs_other(event)}.CompareTag({cs_string(cond['tag'])})"
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
            block = [f"_timer{i} += Time.deltaTime;", f"if (_timer{i} >= {cs_float(trig['interval_s'])}" +
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
