"""Reading the seed pipeline's ``calibration_data.json``.

The seed keeps a JSON list of items, each a request and a C# answer, under any of the
usual key names (``prompt``/``instruction``/``input`` and ``code``/``output``/``response``),
optionally with a structured spec (``ir``/``spec``). Items without a valid IR get one whose
single behaviour is a ``custom`` op holding the request text, so free-form actions still fit
the schema; the class name is read from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from almost.errors import UserError
from almost.io import read_json

from .ir import IR_VERSION, IRError, validate

_PROMPT_KEYS = ("prompt", "instruction", "input", "question", "request")
_CODE_KEYS = ("code", "output", "response", "answer", "completion")


def _get(item: dict, keys) -> str | None:
    for k in keys:
        if isinstance(item.get(k), str) and item[k].strip():
            return item[k]
    return None


def read_calibration(path: str | Path) -> list[dict]:
    path = Path(path)
    data = read_json(path, "calibration file")
    if isinstance(data, dict):
        data = data.get("data") or data.get("items") or data.get("examples")
    if not isinstance(data, list):
        raise UserError(f"calibration file {path} must hold a JSON list of items with a prompt and code")
    rows = []
    for n, item in enumerate(data):
        prompt, code = (_get(item, _PROMPT_KEYS), _get(item, _CODE_KEYS)) if isinstance(item, dict) else (None, None)
        if prompt is None or code is None:
            raise UserError(f"calibration file {path} item {n} needs a prompt ({'/'.join(_PROMPT_KEYS)}) "
                            f"and code ({'/'.join(_CODE_KEYS)})")
        ir = item.get("ir") or item.get("spec")
        if isinstance(ir, dict):
            validate(ir, f"calibration file {path} item {n}")
        else:
            m = re.search(r"\bclass\s+([A-Z][A-Za-z0-9_]*)", code)
            ir = {"ir_version": IR_VERSION, "class_name": m.group(1) if m else "GeneratedBehaviour",
                  "behaviours": [{"trigger": {"event": "update"}, "actions": [{"op": "custom", "text": prompt[:1000]}]}]}
            try:
                validate(ir)
            except IRError as e:
                raise UserError(f"calibration file {path} item {n}: {e}") from None
        rows.append({"prompt": prompt, "ir": ir, "code": code, "source": "calibration"})
    return rows
