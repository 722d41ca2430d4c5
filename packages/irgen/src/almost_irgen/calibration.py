"""Reading the seed pipeline's ``calibration_data.json`` as it is.

The seed writes ``{"pairs": [{"prompt", "ideal_ir", "good_code"}, ...]}`` where ``ideal_ir`` is
free text in JSON clothes::

    {"class_name": "Spinner", "components": ["Rigidbody"],
     "behaviors": [{"trigger": "every frame", "action": "rotate around Y axis at 90 degrees per second"}]}

Plain lists of items and other usual key names (``instruction``/``input``,
``code``/``output``/``response``, ``ir``/``spec``) are read too. A typed IR (one with
``ir_version``) is validated as it is; a free-text one is converted where it maps — triggers
("every frame", "on start", "when the player enters the trigger", "when Space is pressed",
"every 2 seconds" ...) and actions ("rotate around Y axis at 90 degrees per second", "move
forward at speed 3", "destroy itself after 2 seconds", "log 'hi'" ...) become typed ops —
and whatever does not map is kept as a typed ``custom`` op carrying its text.

Each item's code is compiled like a teacher answer. An item without a prompt or code, with an
invalid typed IR, or whose code does not compile is bad: with ``on_bad_item="skip"`` it is
reported in one line and skipped, with ``"fail"`` the run stops with that line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from almost.errors import UserError
from almost.io import read_json

from .ir import COMPONENTS, FIELD_TYPES, IR_VERSION, IRError, problems, validate

_PROMPT_KEYS = ("prompt", "instruction", "input", "question", "request")
_CODE_KEYS = ("good_code", "code", "output", "response", "answer", "completion")
_IR_KEYS = ("ideal_ir", "ir", "spec")

_KEY_WORDS = {"space": "Space", "spacebar": "Space", "enter": "Return", "return": "Return", "escape": "Escape",
              "esc": "Escape", "shift": "LeftShift", "left shift": "LeftShift", "mouse": "Mouse0", "click": "Mouse0",
              "left mouse": "Mouse0", "w": "W", "a": "A", "s": "S", "d": "D", "e": "E", "q": "Q"}
_DIRS = {"forward": [0, 0, 1], "forwards": [0, 0, 1], "backward": [0, 0, -1], "backwards": [0, 0, -1], "back": [0, 0, -1],
         "up": [0, 1, 0], "upward": [0, 1, 0], "upwards": [0, 1, 0], "down": [0, -1, 0], "downward": [0, -1, 0],
         "left": [-1, 0, 0], "right": [1, 0, 0]}
_NUM = r"(-?\d+(?:\.\d+)?)"


def _get(item: dict, keys) -> str | None:
    for k in keys:
        if isinstance(item.get(k), str) and item[k].strip():
            return item[k]
    return None


def _number(text: str) -> float | int:
    v = float(text)
    return int(v) if v.is_integer() else v


def _key(text: str) -> str | None:
    t = text.lower()
    for pat in (r"(?:press(?:es|ed|ing)?|hit(?:s|ting)?|tap(?:s|ped)?)\s+(?:the\s+)?([a-z ]+?)(?:\s+key|\s+button)?\s*(?:$|,|\.|\bis\b)",
                r"(?:when|if)\s+(?:the\s+)?([a-z ]+?)\s+(?:key\s+)?(?:is\s+)?(?:pressed|hit|tapped)",
                r"on\s+([a-z ]+?)\s+(?:key|press)"):
        m = re.search(pat, t)
        if m and m.group(1).strip() in _KEY_WORDS:
            return _KEY_WORDS[m.group(1).strip()]
    if re.search(r"\bclick", t):
        return "Mouse0"
    return None


def trigger_from_text(text: str) -> tuple[dict, dict | None] | None:
    """``(trigger, condition)`` for a free-text trigger, or None when it does not map."""
    t = text.lower().strip()
    tag = re.search(r"(?:tagged|with (?:the )?tag|tag)\s+['\"]?([A-Za-z_]\w*)", text)
    cond = {"kind": "tag", "tag": tag.group(1)} if tag else (
        {"kind": "tag", "tag": "Player"} if re.search(r"\bthe player\b", t) else None)
    if m := re.search(r"every\s+" + _NUM + r"\s*(?:s\b|sec|second)", t):
        return {"event": "timer", "interval_s": _number(m.group(1))}, None
    if re.search(r"every second\b|once a second|each second", t):
        return {"event": "timer", "interval_s": 1}, None
    if re.search(r"physics|fixed ?update", t):
        return {"event": "fixed_update"}, None
    if re.search(r"every frame|each frame|per frame|\bupdate\b|continuous|constantly|always", t):
        return {"event": "update"}, None
    if re.search(r"trigger", t) or re.search(r"\benter", t):
        return {"event": "on_trigger_enter"}, cond
    if re.search(r"colli|\bhit by\b|bump|touch", t):
        return {"event": "on_collision_enter"}, cond
    if key := _key(t):
        return {"event": "key_down", "key": key}, None
    if re.search(r"\bawake\b|\bwakes\b|\bloaded\b", t):
        return {"event": "awake"}, None
    if re.search(r"\bdisabled?\b", t):
        return {"event": "on_disable"}, None
    if re.search(r"\benabled?\b", t):
        return {"event": "on_enable"}, None
    if re.search(r"\bstart|begin|spawned|created|once\b", t):
        return {"event": "start"}, None
    return None


def action_from_text(text: str, event: str) -> dict | None:
    """A typed op for a free-text action, or None when it does not map."""
    t = text.lower().strip()
    delay = re.search(r"after\s+" + _NUM + r"\s*(?:s\b|sec|second)", t)
    if re.search(r"\b(rotate|rotates|rotating|spin|spins|spinning|turn|turns)\b", t):
        axis = re.search(r"\b([xyz])[- ]?axis\b|\baxis\s+([xyz])\b|\babout\s+([xyz])\b|\baround\s+([xyz])\b", t)
        speed = re.search(_NUM + r"\s*(?:degrees?|deg|°)", t)
        if axis and speed:
            return {"op": "rotate", "axis": next(g for g in axis.groups() if g),
                    "degrees_per_second": _number(speed.group(1))}
        return None
    if re.search(r"\b(move|moves|moving|translate|translates|slide|slides)\b", t):
        d = re.search(r"\b(" + "|".join(_DIRS) + r")\b", t)
        speed = re.search(r"(?:speed(?: of)?|at)\s+" + _NUM, t) or re.search(_NUM + r"\s*(?:units?|m)\b", t)
        if d and speed:
            return {"op": "translate", "direction": _DIRS[d.group(1)], "speed": _number(speed.group(1))}
        return None
    if re.search(r"\bdestroy", t):
        other = re.search(r"\bother\b|\bthe player\b|\bthe object that\b|\bwhat(ever)? (hit|entered|touched)", t)
        if other and event not in ("on_trigger_enter", "on_collision_enter"):
            return None
        act: dict = {"op": "destroy", "target": "other" if other else "self"}
        if delay:
            act["delay_s"] = _number(delay.group(1))
        return act
    if m := re.search(r"\b(?:log|print|debug\.log)s?\s*(?:the message\s+)?['\"“]([^'\"”]{1,200})['\"”]", text, re.I):
        return {"op": "log", "message": m.group(1)}
    if re.search(r"\b(force|push|launch|jump)", t):
        d = re.search(r"\b(" + "|".join(_DIRS) + r")\b", t)
        n = re.search(_NUM, t)
        if d and n:
            mode = "Impulse" if re.search(r"impulse|jump|launch|once", t) else "Force"
            return {"op": "apply_force", "force": [c * _number(n.group(1)) for c in _DIRS[d.group(1)]], "mode": mode}
        return None
    return None


def _texts(beh: dict, key: str) -> list[str]:
    v = beh.get(key)
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [x if isinstance(x, str) else str(x) for x in v]
    return []


def convert_ir(free: dict, code: str, prompt: str) -> tuple[dict, int, int]:
    """``(typed IR, ops converted, ops kept as custom)`` for a seed-style free-text IR."""
    name = free.get("class_name") or free.get("name") or free.get("script_name")
    m = re.search(r"\bclass\s+([A-Z][A-Za-z0-9_]*)", code)
    if not (isinstance(name, str) and re.fullmatch(r"[A-Z][A-Za-z0-9_]{0,63}", name)):
        name = m.group(1) if m else "GeneratedBehaviour"
    ir: dict = {"ir_version": IR_VERSION, "class_name": name}
    comps = [c for c in free.get("components", []) if isinstance(c, str) and c in COMPONENTS]
    fields = []
    for f in free.get("fields") or free.get("properties") or free.get("variables") or []:
        if isinstance(f, dict) and isinstance(f.get("name"), str) and f.get("type") in FIELD_TYPES:
            fd = {"name": f["name"], "type": f["type"]}
            if "default" in f or "value" in f:
                fd["default"] = f.get("default", f.get("value"))
            fields.append(fd)
    if fields:
        ir["fields"] = fields
    converted = kept = 0
    behaviours = []
    raw = free.get("behaviors") or free.get("behaviours") or []
    for beh in raw if isinstance(raw, list) else []:
        if not isinstance(beh, dict):
            continue
        trig_text = " ".join(_texts(beh, "trigger") + _texts(beh, "when") + _texts(beh, "event"))
        acts = _texts(beh, "action") + _texts(beh, "actions")
        mapped = trigger_from_text(trig_text) if trig_text else None
        trig, cond = mapped if mapped else ({"event": "update"}, None)
        ops = []
        for a in acts:
            op = action_from_text(a, trig["event"]) if mapped else None
            if op is not None:
                if op["op"] == "apply_force" and "Rigidbody" not in comps:
                    comps.append("Rigidbody")
                ops.append(op)
                converted += 1
            else:
                text = a if mapped else f"{trig_text}: {a}"
                ops.append({"op": "custom", "text": text[:1000] or "(empty)"})
                kept += 1
        if not ops:
            continue
        b: dict = {"trigger": trig, "actions": ops}
        if cond:
            b["condition"] = cond
        behaviours.append(b)
    if not behaviours:
        behaviours = [{"trigger": {"event": "update"}, "actions": [{"op": "custom", "text": prompt[:1000]}]}]
        kept += 1
    if comps:
        ir["components"] = sorted(set(comps), key=comps.index)
    ir["behaviours"] = behaviours
    if problems(ir):  # a mapping that does not fit together (e.g. a field that is not declared): keep the text
        for b in behaviours:
            for i, a in enumerate(b["actions"]):
                if a["op"] != "custom" and problems({**ir, "behaviours": [{**b, "actions": [a]}]}):
                    b["actions"][i] = {"op": "custom", "text": f"{a}"[:1000]}
                    converted, kept = converted - 1, kept + 1
    return ir, converted, kept


def read_calibration(path: str | Path, checker=None, on_bad_item: str = "skip", report=print) -> tuple[list[dict], dict]:
    """``(rows, stats)``: the good items as triplet rows, and what was converted, kept and skipped.

    ``report`` gets one line per skipped item. With ``on_bad_item="fail"`` the first bad item
    raises a :class:`UserError` with that line instead.
    """
    path = Path(path)
    data = read_json(path, "calibration file")
    if isinstance(data, dict):
        data = next((data[k] for k in ("pairs", "data", "items", "examples") if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        raise UserError(f"calibration file {path} must hold {{\"pairs\": [...]}} or a JSON list of items "
                        "with a prompt and code")
    stats = {"items": len(data), "kept": 0, "skipped": 0, "typed_ir": 0, "converted_ir": 0,
             "ops_converted": 0, "ops_custom": 0, "skipped_items": []}
    candidates = []

    def bad(n: int, why: str) -> None:
        line = f"calibration file {path} item {n} skipped: {why}"
        if on_bad_item == "fail":
            raise UserError(line.replace(" skipped: ", ": ") + "; fix it or set synth.on_bad_item=skip")
        stats["skipped"] += 1
        stats["skipped_items"].append({"item": n, "why": why})
        report(line)

    for n, item in enumerate(data):
        if not isinstance(item, dict):
            bad(n, "not a JSON object")
            continue
        prompt, code = _get(item, _PROMPT_KEYS), _get(item, _CODE_KEYS)
        if prompt is None or code is None:
            bad(n, f"needs a prompt ({'/'.join(_PROMPT_KEYS)}) and code ({'/'.join(_CODE_KEYS)})")
            continue
        raw = next((item[k] for k in _IR_KEYS if isinstance(item.get(k), dict | str)), None)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raw = {"behaviors": [{"trigger": "", "action": raw}]}
            raw = raw if isinstance(raw, dict) else None
        try:
            if raw is not None and "ir_version" in raw:
                ir, conv, kept = validate(raw, "its IR"), 0, 0
                stats["typed_ir"] += 1
            else:
                ir, conv, kept = convert_ir(raw or {}, code, prompt)
                validate(ir, "its converted IR")
                stats["converted_ir"] += 1
        except IRError as e:
            bad(n, str(e))
            continue
        candidates.append((n, {"prompt": prompt, "ir": ir, "code": code, "source": "calibration"}, conv, kept))
    results = checker.check([c[1]["code"] for c in candidates]) if checker is not None and candidates else None
    rows = []
    for j, (n, row, conv, kept) in enumerate(candidates):
        if results is not None and not results[j].ok:
            bad(n, f"its code does not compile ({results[j].describe()})")
            continue
        rows.append(row)
        stats["ops_converted"] += conv
        stats["ops_custom"] += kept
    stats["kept"] = len(rows)
    return rows, stats
