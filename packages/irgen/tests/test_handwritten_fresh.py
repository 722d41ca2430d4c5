"""The fresh hand-written set (data/handwritten_fresh.jsonl): requests written the way users type
them, not from the generator's phrasing, each with the IR it asks for."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest

import almost_irgen
from almost_irgen.ir import KEYS, validate
from almost_irgen.irmatch import entry_mismatches, handwritten_path, load_handwritten

FRESH = Path(almost_irgen.__file__).parent / "data" / "handwritten_fresh.jsonl"


@pytest.fixture(scope="module")
def fresh() -> list[dict]:
    return load_handwritten(FRESH)


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _behaviours(ir: dict):
    return ir["behaviours"]


def test_the_fresh_set_is_large_valid_and_its_own_answer(fresh):
    assert len(fresh) >= 40
    for e in fresh:
        assert e["source"] == "fresh, issue 29"
        assert set(e) == {"sentence", "ir", "alternatives", "names", "class_name_given", "source"}
        for ir in [e["ir"], *e["alternatives"]]:
            validate(ir, e["sentence"])
            assert entry_mismatches(ir, e) == [], e["sentence"]
            ops = {a["op"] for b in _behaviours(ir) for a in b["actions"]}
            assert "custom" not in ops, e["sentence"]
        for n in e["names"]:  # a name the sentence spells out is a declared field
            assert n in {f["name"] for f in e["ir"].get("fields", [])}, e["sentence"]
            assert n.lower() in e["sentence"].lower()


def test_the_fresh_set_is_varied_and_new(fresh):
    sentences = [_norm(e["sentence"]) for e in fresh]
    assert len(set(sentences)) == len(sentences)
    older = {_norm(json.loads(line)["sentence"])
             for line in handwritten_path().read_text(encoding="utf-8").splitlines() if line.strip()}
    assert len(older) >= 40 and not set(sentences) & older
    assert not any(s.startswith("make a unity script") for s in sentences)  # not synthgen.describe's template
    events = Counter(b["trigger"]["event"] for e in fresh for b in _behaviours(e["ir"]))
    assert set(events) == {"awake", "start", "update", "fixed_update", "on_enable", "on_disable",
                           "on_trigger_enter", "on_collision_enter", "key_down", "timer"}
    ops = Counter(a["op"] for e in fresh for b in _behaviours(e["ir"]) for a in b["actions"])
    assert set(ops) == {"rotate", "translate", "apply_force", "spawn", "destroy", "play_sound",
                        "set_active", "set_field", "log"}
    kinds = {b["condition"]["kind"] for e in fresh for b in _behaviours(e["ir"]) if "condition" in b}
    assert kinds == {"compare", "tag", "key_held"}
    assert 3 <= sum(e["class_name_given"] for e in fresh) <= 8
    assert sum(bool(e["alternatives"]) for e in fresh) < len(fresh) // 2  # alternatives only where truly ambiguous


def _with(entry: dict, change) -> dict | None:
    """A copy of the entry's IR changed by ``change(behaviour) -> bool`` (None: nothing to change)."""
    ir = copy.deepcopy(entry["ir"])
    changed = [change(b) for b in _behaviours(ir)]
    return ir if any(changed) else None


def _wrong_axis(b: dict) -> bool:
    hit = False
    for a in b["actions"]:
        if a["op"] == "rotate":
            a["axis"] = {"x": "y", "y": "z", "z": "x"}[a["axis"]]
            hit = True
    return hit


def _no_condition(b: dict) -> bool:
    return b.pop("condition", None) is not None


def _wrong_key(b: dict) -> bool:
    other = {k: KEYS[(i + 1) % len(KEYS)] for i, k in enumerate(KEYS)}
    hit = False
    if "key" in b["trigger"]:
        b["trigger"]["key"] = other[b["trigger"]["key"]]
        hit = True
    if b.get("condition", {}).get("kind") == "key_held":
        b["condition"]["key"] = other[b["condition"]["key"]]
        hit = True
    return hit


def _wrong_event(b: dict) -> bool:
    swap = {"start": "on_enable", "awake": "on_disable", "update": "on_enable", "fixed_update": "start",
            "on_enable": "update", "on_disable": "start"}
    if b["trigger"]["event"] not in swap:
        return False
    b["trigger"]["event"] = swap[b["trigger"]["event"]]
    return True


@pytest.mark.parametrize("change,at_least", [(_wrong_axis, 5), (_no_condition, 10), (_wrong_key, 10),
                                             (_wrong_event, 10)])
def test_a_wrong_ir_does_not_match_its_entry(fresh, change, at_least):
    tried = 0
    for e in fresh:
        wrong = _with(e, change)
        if wrong is None or wrong == e["ir"]:
            continue
        tried += 1
        assert entry_mismatches(wrong, e) != [], (change.__name__, e["sentence"])
    assert tried >= at_least


def test_a_named_field_and_a_given_class_name_are_compared(fresh):
    score = next(e for e in fresh if e["names"] == ["score"])
    renamed = json.loads(json.dumps(score["ir"]).replace('"score"', '"points"'))
    assert entry_mismatches(renamed, score) == ["set_field on field 'points', not 'score'"]
    shield = next(e for e in fresh if e["class_name_given"] and e["ir"]["class_name"] == "ShieldSpawner")
    assert entry_mismatches({**shield["ir"], "class_name": "Shield"}, shield) == ["class Shield, not ShieldSpawner"]
    unnamed = next(e for e in fresh if "the bullet prefab" in e["sentence"])
    free = json.loads(json.dumps(unnamed["ir"]).replace('"bulletPrefab"', '"projectile"'))
    assert entry_mismatches({**free, "class_name": "Gun"}, unnamed) == []  # neither name was given
