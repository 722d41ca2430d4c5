"""Behaviour conformance: programs run in the simulated Unity and their effects are checked."""

from __future__ import annotations

import random
import shutil

import pytest

from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, random_ir
from almost_irgen.unitysim import BehaviourChecker, expected, scenarios

pytestmark = [pytest.mark.compiler, pytest.mark.skipif(
    shutil.which("mcs") is None or shutil.which("mono") is None, reason="needs mono and mcs (apt-get install mono-mcs)")]

SPIN = {"ir_version": "1.0", "class_name": "Spinner", "fields": [{"name": "speed", "type": "float", "default": 90}],
        "behaviours": [{"trigger": {"event": "update"},
                        "actions": [{"op": "rotate", "axis": "y", "degrees_per_second": "speed"}]}]}
KILL = {"ir_version": "1.0", "class_name": "Killer", "behaviours": [
    {"trigger": {"event": "on_trigger_enter"}, "condition": {"kind": "tag", "tag": "Player"},
     "actions": [{"op": "destroy", "target": "other"}]}]}
BOMB = {"ir_version": "1.0", "class_name": "Bomb", "fields": [{"name": "health", "type": "int", "default": 3}],
        "behaviours": [
            {"trigger": {"event": "key_down", "key": "Space"},
             "actions": [{"op": "set_field", "field": "health", "value": -1, "mode": "add"}]},
            {"trigger": {"event": "update"}, "condition": {"kind": "compare", "field": "health", "cmp": "<=", "value": 2},
             "actions": [{"op": "destroy", "target": "self"}]}]}
TICK = {"ir_version": "1.0", "class_name": "Ticker", "fields": [{"name": "ticks", "type": "int", "default": 0}],
        "behaviours": [{"trigger": {"event": "timer", "interval_s": 0.5},
                        "actions": [{"op": "set_field", "field": "ticks", "value": 1, "mode": "add"},
                                    {"op": "log", "message": "tick"}]}]}

SPIN_BY_HAND = """using UnityEngine;
using System.Collections;
public class Spinner : MonoBehaviour
{
    public float speed = 90f;
    IEnumerator Start()
    {
        while (true) { transform.rotation *= Quaternion.Euler(0f, speed * Time.deltaTime, 0f); yield return null; }
    }
}
"""
TICK_BY_HAND = """using UnityEngine;
public class Ticker : MonoBehaviour
{
    public int ticks = 0;
    void Start() { InvokeRepeating("Tick", 0.5f, 0.5f); }
    void Tick() { ticks++; Debug.Log("tick"); }
}
"""


@pytest.fixture(scope="module")
def checker():
    c = BehaviourChecker()
    yield c
    c.compiler.close()


def test_rule_generator_output_behaves_as_its_ir(checker):
    rng = random.Random(7)
    irs = [random_ir(rng, Size(4, 3, 3)) for _ in range(30)] + [SPIN, KILL, BOMB, TICK]
    results = checker.check(irs, [generate(ir) for ir in irs])
    assert [r.failed for r in results if not r.ok] == []


def test_other_correct_programs_pass_too(checker):
    results = checker.check([SPIN, TICK], [SPIN_BY_HAND, TICK_BY_HAND])
    assert [r.failed for r in results] == [[], []]


@pytest.mark.parametrize("ir, change, words", [
    (SPIN, ("Vector3.up", "Vector3.forward"), "rotation"),  # wrong axis
    (SPIN, (" * Time.deltaTime", ""), "rotation"),  # 50x too fast
    (SPIN, ("speed * Time", "-speed * Time"), "rotation"),  # wrong direction
    (KILL, ('if (other.gameObject.CompareTag("Player"))', ""), "unexpected destroy 'other1'"),  # no condition
    (KILL, ("Destroy(other.gameObject)", "Destroy(gameObject)"), "unexpected destroy 'self'"),  # wrong target
    (KILL, ("Destroy(other.gameObject)", "Destroy(this)"), "destroy_component"),  # Destroy(this)
    (KILL, ("Destroy(other.gameObject)", "Destroy(other)"), "destroy_component"),  # the collider only
    (BOMB, ("health <= 2f", "health <= 3f"), "destroy 'self'"),  # wrong threshold: destroyed at once
    (BOMB, ("KeyCode.Space", "KeyCode.Return"), "never happened"),  # wrong key
    (BOMB, ("health += -1;", "health = -1;"), "field health"),  # set instead of add
    (TICK, ("_timer0 >= 0.5f", "_timer0 >= 1f"), "tick"),  # wrong interval
])
def test_hand_made_wrong_programs_fail(checker, ir, change, words):
    code = generate(ir)
    assert change[0] in code
    [result] = checker.check([ir], [code.replace(*change)])
    assert not result.ok and any(words in line for line in result.failed), result.failed


def test_endless_loops_and_missing_classes_fail_cleanly(checker):
    hang = "using UnityEngine;\npublic class Spinner : MonoBehaviour { public float speed; void Update() { while (true) { } } }"
    other = generate(SPIN).replace("class Spinner", "class Rotator")
    throws = generate(SPIN).replace("transform.Rotate", "GetComponent<Rigidbody>().AddForce(Vector3.up); transform.Rotate")
    r_hang, r_other, r_throw, r_ok = checker.check([SPIN] * 4, [hang, other, throws, generate(SPIN)])
    assert "did not finish" in r_hang.failed[0]
    assert "class Spinner not found" in r_other.failed[0]
    assert any("exception" in f and "NullReference" in f for f in r_throw.failed)
    assert r_ok.ok


def test_scenarios_exercise_conditions_both_ways():
    scs = {s["name"]: s for s in scenarios(BOMB)}
    assert list(scs) == ["main", "80 fps", "health=2"] and scs["health=2"]["sets"] == {"health": 2}
    main = expected(BOMB, scs["main"])
    assert [e for e in main["events"] if e[1] == "destroy"] == [[11, "destroy", "self"]]  # Space goes down at 0.21 s
    flipped = expected(BOMB, scs["health=2"])
    assert [e for e in flipped["events"] if e[1] == "destroy"] == [[0, "destroy", "self"]]
    kill = expected(KILL, scenarios(KILL)[0])["events"]
    assert [e[2] for e in kill] == ["other2", "other3"]  # the decoy (other1, tag Decoy) survives; Player comes twice
