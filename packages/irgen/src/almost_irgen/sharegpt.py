"""ShareGPT records, deduplication and a seeded train/eval split that keeps duplicates together.

A record is ``{"id": ..., "conversations": [{"from": "system"|"human"|"gpt", "value": ...}]}``
where the human turn is the compact IR JSON and the gpt turn the C# file. Exact duplicates
(same prompt and answer) are dropped; records that share a prompt (the same IR, different
code) or a ``"group"`` (a spec and its minimal pair from ``synth``) form one group, and whole
groups go to train or eval, so no spec, and no near copy of one, is in both.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from pathlib import Path

from almost.errors import UserError

from .ir import dumps
from .model import SYSTEM_PROMPT


def record(ir: dict, code: str, prompt: str = "", group: int | None = None) -> dict:
    human = dumps(ir)
    rec = {"id": hashlib.sha1((human + "\0" + code).encode()).hexdigest()[:16], "prompt": prompt,
           "conversations": [{"from": "system", "value": SYSTEM_PROMPT}, {"from": "human", "value": human},
                             {"from": "gpt", "value": code}]}
    if group is not None:
        rec["group"] = group
    return rec


def turn(rec: dict, who: str) -> str:
    return next(t["value"] for t in rec["conversations"] if t["from"] == who)


def dedup(records: Iterable[dict]) -> list[dict]:
    seen, out = set(), []
    for r in records:
        key = (_norm(turn(r, "human")), _norm(turn(r, "gpt")))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _norm(text: str) -> str:
    return " ".join(text.split())


def split(records: list[dict], eval_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Seeded split by prompt group; about ``eval_fraction`` of the records go to eval."""
    if not 0 < eval_fraction < 1:
        raise UserError(f"prepare.eval_fraction must be between 0 and 1, not {eval_fraction}")
    parent: dict[str, str] = {}  # union-find over "same prompt" and "same synth group"

    def root(k: str) -> str:
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    for r in records:
        a = root("h:" + _norm(turn(r, "human")))
        if r.get("group") is not None:
            b = root(f"g:{r['group']}")
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(root("h:" + _norm(turn(r, "human"))), []).append(r)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    target = round(eval_fraction * len(records))
    train, evals = [], []
    for k in keys:
        (evals if len(evals) < target else train).extend(groups[k])
    return train, evals


def read_jsonl(path: Path, what: str) -> list[dict]:
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise UserError(f"{what} {path} line {n} is not valid JSON ({e.msg}); fix or delete that line") from None
    return out


def jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


SPLITS = {"train": "training set", "eval": "eval set"}


class Triplets:
    """``dataset/irgen-triplets``: prepare's ShareGPT records (``root`` is the prepare folder).

    ``split("train")`` and ``split("eval")`` are the records the ``train`` and ``refine`` stages
    read (IR → C# and sentence → IR, each a ``conversations`` list); indexing reads the
    training split. A plugin's dataset for ``train.dataset`` offers the same ``split``."""

    def __init__(self, root) -> None:
        self.root = Path(root)
        self._cache: dict[str, list[dict]] = {}

    def split(self, name: str) -> list[dict]:
        if name not in self._cache:
            self._cache[name] = read_jsonl(self.root / f"{name}.jsonl", SPLITS[name])
        return self._cache[name]

    def schema(self) -> dict:
        return {"id": "str", "task": "'ir2code', 'text2ir' or 'repair'", "prompt": "str",
                "conversations": "list of {from: system|human|gpt, value: str}", "splits": sorted(SPLITS)}

    def __len__(self) -> int:
        return len(self.split("train"))

    def __getitem__(self, index: int) -> dict:
        return self.split("train")[index]
