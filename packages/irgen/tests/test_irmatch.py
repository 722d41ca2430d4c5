"""Semantic IR match and the hand-written sentences it scores.

The match must fail where a script would do something else (the issue's failures: a 360-second
timer for 360 deg/s, a missing condition, a wrong axis or key, a `custom` op), and pass where
only the model's free choices differ (key order, the order of behaviours, field names the
sentence does not give, an amount held in a field).
"""

from __future__ import annotations

import copy
import json

import pytest

from almost.errors import UserError
from almost_irgen.ir import KEYS, validate
from almost_irgen.irmatch import (
    entry_mismatches,
    ir_match,
    load_handwritten,
    mismatches,
    named_fields,
)

FAN = {"ir_version": "1.0", "class_name": "FanBlades",
       "behaviours": [{"trigger": {"event": "update"}, "actions": [{"op": "rotate", "axis": "z", "degrees_per_second": 360}]}]}
BOOM = {"ir_version": "1.0", "class_name": "Exploder", "components": ["AudioSource"],
        "fields": [{"name": "explosion", "type": "GameObject"}, {"name": "boom", "type": "AudioClip"}],
        "behaviours": [{"trigger": {"event": "key_down", "key": "R"},
                        "actions": [{"op": "spawn", "prefab_field": "explosion"}, {"op": "play_sound", "clip_field": "boom"}]}]}
LIVES = {"ir_version": "1.0", "class_name": "LivesCheck", "fields": [{"name": "lives", "type": "int", "default": 3}],
         "behaviours": [{"trigger": {"event": "update"}, "condition": {"kind": "compare", "field": "lives", "cmp": "<", "value": 1},
                         "actions": [{"op": "destroy", "target": "self"}]}]}


def test_the_expected_ir_matches_itself_and_reordered_keys_still_match():
    for ref in (FAN, BOOM, LIVES):
        assert ir_match(ref, ref, class_name=True)
        shuffled = json.loads(json.dumps({k: ref[k] for k in reversed(list(ref))}))
        for b in shuffled["behaviours"]:
            for a in b["actions"]:
                a_items = list(a.items())[::-1]
                a.clear()
                a.update(a_items)
        assert list(shuffled) != list(ref)
        assert ir_match(shuffled, ref, class_name=True)


def test_a_timer_for_degrees_per_second_fails():
    timer = {"ir_version": "1.0", "class_name": "FanBlades",
             "behaviours": [{"trigger": {"event": "timer", "interval_s": 360},
                             "actions": [{"op": "rotate", "axis": "z", "degrees_per_second": 360}]}]}
    assert mismatches(timer, FAN) == ["trigger timer, not update"]


@pytest.mark.parametrize("path,value,why", [
    ("axis", "y", "rotate around y, not z"),
    ("degrees_per_second", 36, "rotate at 36 degrees per second, not 360"),
])
def test_a_wrong_axis_or_speed_fails(path, value, why):
    pred = copy.deepcopy(FAN)
    pred["behaviours"][0]["actions"][0][path] = value
    assert mismatches(pred, FAN) == [why]


def test_a_wrong_key_fails():
    pred = copy.deepcopy(BOOM)
    pred["behaviours"][0]["trigger"]["key"] = "E"
    assert mismatches(pred, BOOM) == ["key E, not R"]


def test_a_missing_or_changed_condition_fails():
    pred = copy.deepcopy(LIVES)
    del pred["behaviours"][0]["condition"]
    assert mismatches(pred, LIVES) == ["no condition"]
    pred = copy.deepcopy(LIVES)
    pred["behaviours"][0]["condition"]["cmp"] = ">"
    assert not ir_match(pred, LIVES)
    pred = copy.deepcopy(LIVES)
    pred["behaviours"][0]["actions"][0]["delay_s"] = 1  # the issue's "destroy after 1 s, no condition"
    del pred["behaviours"][0]["condition"]
    assert not ir_match(pred, LIVES)


def test_custom_never_matches_a_typed_op():
    pred = copy.deepcopy(BOOM)
    pred["behaviours"][0]["actions"][1] = {"op": "custom", "text": "play the boom sound"}
    assert mismatches(pred, BOOM) == ["custom instead of play_sound"]
    ref = copy.deepcopy(FAN)
    ref["behaviours"][0]["actions"][0] = {"op": "custom", "text": "shake the camera"}
    assert ir_match({**ref, "behaviours": [{"trigger": {"event": "update"},
                                            "actions": [{"op": "custom", "text": "Shake the camera."}]}]}, ref)
    assert not ir_match(FAN, ref)


def test_invalid_ir_and_extra_ops_fail():
    assert mismatches(None, FAN) == ["no IR"]
    assert mismatches({"ir_version": "1.0", "class_name": "X", "behaviours": []}, FAN)[0].startswith("not valid IR")
    pred = copy.deepcopy(FAN)
    pred["behaviours"][0]["actions"].append({"op": "log", "message": "spin"})
    assert not ir_match(pred, FAN)


def test_field_names_are_free_unless_the_sentence_gives_them_but_must_be_consistent():
    renamed = json.loads(json.dumps(BOOM).replace('"explosion"', '"fx"').replace('"boom"', '"boomSound"'))
    assert ir_match(renamed, BOOM)
    assert not ir_match(renamed, BOOM, names=["boom"])
    # one expected field cannot be two predicted fields
    two = copy.deepcopy(BOOM)
    two["fields"].append({"name": "other", "type": "GameObject"})
    two["behaviours"].append({"trigger": {"event": "start"}, "actions": [{"op": "spawn", "prefab_field": "other"}]})
    ref = copy.deepcopy(BOOM)
    ref["behaviours"].append({"trigger": {"event": "start"}, "actions": [{"op": "spawn", "prefab_field": "explosion"}]})
    assert ir_match(ref, ref)
    assert not ir_match(two, ref)
    # the class name counts only where the sentence gives it ("TURTLE" for a turret)
    assert ir_match({**BOOM, "class_name": "Turtle"}, BOOM)
    assert not ir_match({**BOOM, "class_name": "Turtle"}, BOOM, class_name=True)


def test_values_amounts_in_fields_and_velocities():
    speed = {**FAN, "fields": [{"name": "speed", "type": "float", "default": 360}],
             "behaviours": [{"trigger": {"event": "update"}, "actions": [{"op": "rotate", "axis": "z", "degrees_per_second": "speed"}]}]}
    assert ir_match(validate(speed), FAN)  # the value the script starts with
    slow = copy.deepcopy(speed)
    slow["fields"][0]["default"] = 36
    assert not ir_match(slow, FAN)
    plat = {"ir_version": "1.0", "class_name": "P", "behaviours": [
        {"trigger": {"event": "update"}, "actions": [{"op": "translate", "direction": [0, 0, 1], "speed": 1.5}]}]}
    same = json.loads(json.dumps(plat).replace("[0, 0, 1], \"speed\": 1.5", "[0, 0, 1.5], \"speed\": 1"))
    assert same != plat and ir_match(same, plat)
    wrong = json.loads(json.dumps(plat).replace("[0, 0, 1]", "[0.5, 1.5, 0]"))  # the issue's direction
    assert not ir_match(wrong, plat)
    assert ir_match(json.loads(json.dumps(plat).replace("1.5", "1.5000001")), plat)


def test_behaviour_order_is_free():
    two = {"ir_version": "1.0", "class_name": "T", "behaviours": [
        {"trigger": {"event": "start"}, "actions": [{"op": "log", "message": "ready"}]},
        {"trigger": {"event": "update"}, "actions": [{"op": "rotate", "axis": "x", "degrees_per_second": 15}]}]}
    flipped = {**two, "behaviours": two["behaviours"][::-1]}
    assert ir_match(flipped, two)
    assert ir_match({**two, "behaviours": [two["behaviours"][0], {
        "trigger": {"event": "update"}, "actions": [{"op": "log", "message": "'Ready!'"}]}]}, {
        **two, "behaviours": [two["behaviours"][0], {"trigger": {"event": "update"},
                                                     "actions": [{"op": "log", "message": "ready"}]}]})


def test_named_fields_are_the_ones_said():
    assert named_fields("add 10 to Score when hit", {"fields": [{"name": "score"}, {"name": "lives"}]}) == ["score"]


# -- the hand-written set ------------------------------------------------------------------------
def test_the_handwritten_set_is_large_valid_varied_and_not_the_generators():
    hs = load_handwritten()
    assert len(hs) >= 60
    sentences = [e["sentence"] for e in hs]
    assert len(set(sentences)) == len(sentences)
    assert not any(s.startswith("Make a Unity script") for s in sentences)  # not synthgen.describe's template
    text = " ".join(sentences).lower()
    for phrase in ("deg/s", "°/s", "spacebar", "the e key", "press f", "ninety", "impulse", "tagged", "script for",
                   "forward", "left", "up"):
        assert phrase in text, phrase
    issue = [e for e in hs if e.get("source") == "issue 29"]
    assert len(issue) >= 15
    for s in ("a coin that spins around the y axis at 90 degrees per second", "every 0.5 seconds print tick",
              "rotate the fan blades around z at 360 deg/s", "Bell: ring the bell clip when something collides with it",
              "When R is pressed, spawn an explosion effect and play the boom sound"):
        assert s in sentences
    events = {b["trigger"]["event"] for e in hs for b in e["ir"]["behaviours"]}
    assert events >= {"update", "fixed_update", "start", "awake", "on_enable", "on_trigger_enter",
                      "on_collision_enter", "key_down", "timer"}
    ops = {a["op"] for e in hs for b in e["ir"]["behaviours"] for a in b["actions"]}
    assert ops == {"rotate", "translate", "apply_force", "spawn", "destroy", "play_sound", "set_active", "set_field", "log"}
    assert {"F", "R", "Space", "Mouse0", "LeftArrow"} <= set(KEYS)
    for e in hs:
        assert entry_mismatches(e["ir"], e) == [], e["sentence"]
        for alt in e.get("alternatives", []):
            assert entry_mismatches(alt, e) == []


def test_alternatives_are_accepted_but_nothing_else():
    gem = next(e for e in load_handwritten() if e["sentence"].startswith("a gem that adds 10"))
    collide = json.loads(json.dumps(gem["ir"]).replace("on_trigger_enter", "on_collision_enter"))
    assert entry_mismatches(collide, gem) == []
    lives = json.loads(json.dumps(gem["ir"]).replace('"score"', '"lives"'))
    assert entry_mismatches(lives, gem) == ["set_field on field 'lives', not 'score'"]


def test_a_broken_handwritten_file_is_one_sentence(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text('{"sentence": "spin", "ir": {"ir_version": "1.0"}}\n')
    with pytest.raises(UserError, match="line 1"):
        load_handwritten(p)
    p.write_text('{"sentence": "spin"\n')
    with pytest.raises(UserError, match="not valid JSON"):
        load_handwritten(p)
