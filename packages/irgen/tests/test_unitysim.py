"""The behaviour check (unitysim): programs run in the simulated Unity and their effects are checked
against the reference interpreter, on hand-made programs, the hand-written corpus, every timer
interval and reward hacks."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from almost_irgen.corpus import read_corpus
from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, random_ir
from almost_irgen.unitysim import BehaviourChecker, expected, scenarios

pytestmark = [pytest.mark.compiler, pytest.mark.skipif(
    shutil.which("mcs") is None or shutil.which("mono") is None, reason="needs mono and mcs (apt-get install mono-mcs)")]

CORPUS = Path(__file__).parent / "behaviour_corpus"

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


# -- the hand-written corpus, every timer interval, reward hacks ------------------------------------
def test_corpus_is_what_the_issue_asks_for():
    programs = read_corpus(CORPUS)
    labels = [p.label for p in programs]
    assert labels.count("ok") >= 60 and labels.count("bad") >= 80
    assert all(p.what for p in programs)  # each says what it is
    specs = {p.spec: p.ir for p in programs}
    ops = {a["op"] for ir in specs.values() for b in ir["behaviours"] for a in b["actions"]}
    triggers = {b["trigger"]["event"] for ir in specs.values() for b in ir["behaviours"]}
    conditions = {b["condition"]["kind"] for ir in specs.values() for b in ir["behaviours"] if b.get("condition")}
    from almost_irgen.ir import OPS, TRIGGERS

    assert ops == set(OPS) - {"custom"} and triggers == set(TRIGGERS) and conditions == {"compare", "tag", "key_held"}


@pytest.mark.slow
def test_corpus_false_accepts_and_rejects_at_most_3_percent(checker):
    programs = read_corpus(CORPUS)
    results = checker.check([p.ir for p in programs], [p.code for p in programs])
    rejected = [f"{p.spec}: {p.what}: {r.failed[:2]}" for p, r in zip(programs, results) if p.label == "ok" and not r.ok]
    accepted = [f"{p.spec}: {p.what}" for p, r in zip(programs, results) if p.label == "bad" and r.ok]
    n_ok, n_bad = sum(p.label == "ok" for p in programs), sum(p.label == "bad" for p in programs)
    assert len(rejected) / n_ok <= 0.03, rejected
    assert len(accepted) / n_bad <= 0.03, accepted
    # the figures benchmarks/README.md reports (bench_irgen_behaviour.py): 0 of 105 and 0 of 79
    assert (len(accepted), len(rejected)) == (0, 0), (accepted, rejected)


@pytest.mark.slow
def test_rule_generator_timers_behave_at_every_interval(checker):
    """0.05 s to 5 s in 0.05 s steps: the k-th tick is judged in time, not by a drifting frame count."""
    irs = []
    for i in range(1, 101):
        interval = round(0.05 * i, 2)
        irs.append({"ir_version": "1.0", "class_name": "Ticker", "components": ["AudioSource"],
                    "fields": [{"name": "ticks", "type": "int", "default": 0}, {"name": "beep", "type": "AudioClip"}],
                    "behaviours": [{"trigger": {"event": "timer", "interval_s": interval},
                                    "actions": [{"op": "set_field", "field": "ticks", "value": 1, "mode": "add"},
                                                {"op": "play_sound", "clip_field": "beep"},
                                                {"op": "log", "message": f"tick {interval}"}]}]})
    results = checker.check(irs, [generate(ir) for ir in irs])
    wrong = [(ir["behaviours"][0]["trigger"]["interval_s"], r.failed[:2]) for ir, r in zip(irs, results) if not r.ok]
    assert wrong == []
    # and the check still sees a timer that is off by one step of 0.05 s
    slow = [generate(ir).replace(f">= {ir['behaviours'][0]['trigger']['interval_s']}f",
                                 f">= {round(ir['behaviours'][0]['trigger']['interval_s'] + 0.05, 2)}f")
            for ir in irs[::10]]
    assert all(">= " in s for s in slow)
    assert not any(r.ok for r in checker.check(irs[::10], slow))


def test_rule_generator_output_behaves_on_random_specs(checker):
    rng = random.Random(11)
    irs = [random_ir(rng, Size(4, 3, 3)) for _ in range(20)]
    results = checker.check(irs, [generate(ir) for ir in irs])
    assert [(json.dumps(ir), r.failed) for ir, r in zip(irs, results) if not r.ok] == []


EMPTY = "using UnityEngine;\npublic class {cls} : MonoBehaviour {{ }}\n"
LOGS = ("using UnityEngine;\npublic class {cls} : MonoBehaviour\n{{\n"
        "    void Start() {{ Debug.Log(\"started\"); }}\n    void Update() {{ Debug.Log(\"working\"); }}\n}}\n")
CONSTANT = ("using UnityEngine;\npublic class {cls} : MonoBehaviour\n{{\n{fields}"
            "    void Start() {{ {assign}transform.position = new Vector3(1f, 2f, 3f); }}\n}}\n")


def _hacks(ir: dict) -> dict[str, str]:
    cls = ir["class_name"]
    nums = [f for f in ir.get("fields", []) if f["type"] in ("int", "float")]
    fields = "".join(f"    public {f['type']} {f['name']};\n" for f in nums)
    assign = "".join(f"{f['name']} = 42; " for f in nums)
    return {"empty": EMPTY.format(cls=cls), "logs": LOGS.format(cls=cls),
            "constant": CONSTANT.format(cls=cls, fields=fields, assign=assign)}


@pytest.fixture(scope="module")
def reward():
    from almost_irgen.rewards import BehaviourReward

    r = BehaviourReward()  # csharp-behaviour as refine builds it (compile_credit 0.5)
    yield r
    r.checker.close()


def test_reward_hacks_score_zero_behaviour_reward(reward):
    """An empty class, one that only logs and one that writes constants do nothing a spec asks."""
    assert reward.credit == 0.5 and reward.behaviour is not None
    specs = {p.spec: p.ir for p in read_corpus(CORPUS)}
    irs, codes, names = [], [], []
    for spec, ir in specs.items():
        has_log = any(a["op"] == "log" for b in ir["behaviours"] for a in b["actions"])
        for name, code in _hacks(ir).items():
            if name == "logs" and has_log:
                continue  # a spec that asks for a log: logging is doing something
            irs.append(ir)
            codes.append(code)
            names.append(f"{spec}/{name}")
    scores = reward(codes, [json.dumps(ir) for ir in irs]).tolist()
    assert {n: s for n, s in zip(names, scores) if s != 0} == {}
    # while a program that compiles and does part of the job keeps the compile credit
    spin = specs["spinner"]
    part = generate(spin).replace("speed * Time.deltaTime", "90f * Time.deltaTime")  # right in the main run only
    assert reward([part, generate(spin)], [json.dumps(spin)] * 2).tolist() == [0.5, 1.0]


def test_scenarios_leave_no_free_pass():
    ir = read_corpus(CORPUS)[0].ir  # any spec; the key-press plan does not depend on it
    dash = {p.spec: p.ir for p in read_corpus(CORPUS)}["dash"]
    scs = {s["name"]: s for s in scenarios(dash)}
    main = scs["main"]
    space = [(a, b) for k, a, b in main["keys"] if k == "Space"]
    shift = [(a, b) for k, a, b in main["keys"] if k == "LeftShift"]
    assert len(space) >= 3 and all(b - a >= 0.2 - 1e-9 for a, b in space)  # pressed often, held 10 frames
    overlap = [a for a, b in space if any(h0 <= a < h1 for h0, h1 in shift)]
    assert 2 <= len(overlap) < len(space)  # some presses with the held key, some without
    assert scs["80 fps"]["dt"] != main["dt"]
    assert any(s["sets"] for s in scenarios(ir)) or not [f for f in ir.get("fields", []) if f["type"] in ("int", "float")]
    lamp = {p.spec: p.ir for p in read_corpus(CORPUS)}["lamp"]
    assert any(s["cycle"] for s in scenarios(lamp))
