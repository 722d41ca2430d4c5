"""The behaviour check against a hand-written corpus, at every timer interval, and against reward hacks."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, random_ir
from almost_irgen.unitysim import BehaviourChecker, read_corpus, scenarios

pytestmark = [pytest.mark.compiler, pytest.mark.skipif(
    shutil.which("mcs") is None or shutil.which("mono") is None, reason="needs mono and mcs (apt-get install mono-mcs)")]

CORPUS = Path(__file__).parent / "behaviour_corpus"


@pytest.fixture(scope="module")
def checker():
    c = BehaviourChecker()
    yield c
    c.compiler.close()


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
