"""Repair conversations (almost_irgen.repairdata): mutants the real checks reject, in the very turns
the generator sends, from training specs only; and evaluate's repair_fix_rate on a scripted model."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from almost.testing import run_cli
from almost_irgen import generator as g
from almost_irgen import repairdata
from almost_irgen.csharp import CheckResult
from almost_irgen.generator import (
    Checking,
    Generator,
    Result,
    code_feedback,
    conversation,
    text_and_repair_metrics,
)
from almost_irgen.ir import dumps
from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, random_ir

needs_mono = pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None,
                                reason="needs mono's mcs and mono")


def _irs(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    return [random_ir(rng, Size(2, 1, 2)) for _ in range(n)]


class FakeChecker:
    """Compiles a program unless it says ``BROKEN`` (or, given ``good``, unless it is one of those);
    a failure has one CS error, as mcs words them."""

    compiles = True

    def __init__(self, good: set[str] | None = None) -> None:
        self.good = good

    def check(self, codes, keep_dir=None):
        ok = [("BROKEN" not in c) if self.good is None else c.strip() in self.good for c in codes]
        return [CheckResult(True) if o else
                CheckResult(False, ["CS0117: `UnityEngine.KeyCode' does not contain a definition for `Update'"])
                for o in ok]

    def close(self) -> None:
        pass


class Scripted:
    """Answers IR → C# conversations from a script; keeps every conversation it was sent."""

    def __init__(self, codes: list[str]) -> None:
        self.codes, self.seen = list(codes), []

    def complete(self, convs, *, max_new_tokens, json_schema=None, temperature=0.0, seed=0):
        self.seen += convs
        return [self.codes.pop(0) for _ in convs]


def test_each_mutation_applies_somewhere_and_changes_the_program():
    """Every mutation breaks some rule program; the ones the issue names do what they say."""
    irs = _irs(120)
    for name, mutation in repairdata.MUTATIONS.items():
        rng = random.Random(0)
        changed = [(generate(ir), m) for ir in irs if (m := mutation(generate(ir), rng)) not in (None, generate(ir))]
        assert changed, f"{name} never applies to 120 specs"
    code = generate(next(ir for ir in irs if "KeyCode." in generate(ir)))
    rng = random.Random(1)
    assert "using UnityEngine;" not in repairdata.no_using(code, rng)
    key = repairdata.key_not_a_key(code, rng)
    assert any(f"KeyCode.{w}" in key for w in repairdata._NOT_KEYS)
    spin = {"ir_version": "1.0", "class_name": "CoinSpinner",
            "behaviours": [{"trigger": {"event": "update"}, "actions": [{"op": "rotate", "axis": "y",
                                                                       "degrees_per_second": 90}]}]}
    code = generate(spin)
    assert "Time.deltaTime" in code and "Time.deltaTime" not in repairdata.no_delta_time(code, rng)
    assert "Vector3.up" not in repairdata.wrong_axis(code, rng)
    assert repairdata.misspelt_member(code, rng) != code
    assert repairdata.mutate(code, random.Random(2))[1] != code


@needs_mono
def test_the_mutants_really_fail_the_checker_and_the_fix_behaves():
    """Each record's broken program fails mcs or the simulated Unity when checked again; its user
    turn is the generator's words for that check; its answer, the rule program, behaves."""
    gen = Generator(None, constrained=False)
    try:
        recs = repairdata.repair_records(_irs(40), 16, seed=0, gen=gen)
        assert len(recs) == 16 and len({r["mutation"] for r in recs}) >= 5
        irs = [json.loads(r["conversations"][1]["value"]) for r in recs]
        again = gen.check(irs, [r["conversations"][2]["value"] for r in recs])
        fixed = gen.check(irs, [r["conversations"][4]["value"] for r in recs])
    finally:
        gen.close()
    assert all(a.verdict in (g.FAILS, g.MISBEHAVES) for a in again)
    assert {a.verdict for a in again} == {g.FAILS, g.MISBEHAVES}  # compile errors and behaviour failures both
    assert [r["conversations"][3]["value"] for r in recs] == [code_feedback(a) for a in again]
    assert all(a.verdict == g.BEHAVES for a in fixed)


def test_records_are_the_conversation_the_generator_sends(tiny_model_dir):
    """The record's turns up to its answer are exactly what Generator.ir_to_code sends in its repair
    round, the same tokens as the local model's prompt, and the loss is on the fixed program only."""
    from almost_irgen.generator import LocalModel
    from almost_irgen.model import encode, load_tokenizer

    ir = _irs(1)[0]
    broken = generate(ir).replace("MonoBehaviour", "MonoBehaviour /* BROKEN */", 1)
    stub = Scripted([broken, generate(ir)])
    gen = Generator(stub, checker=FakeChecker(), behaviour=None, repair_rounds=1, constrained=False)
    res = gen.ir_to_code([Result(None, ir)])[0]
    assert [a.verdict for a in res.attempts] == [g.FAILS, g.COMPILES]
    rec = repairdata.repair_record(ir, broken, gen.check([ir], [broken])[0], "test")
    assert rec["task"] == "repair" and rec["conversations"][:-1] == stub.seen[1]
    assert stub.seen[0] == conversation(ir) and rec["conversations"][1]["value"] == dumps(ir)
    assert rec["conversations"][-1] == {"from": "gpt", "value": generate(ir)}
    tok = load_tokenizer(tiny_model_dir)
    ids, labels = encode(tok, rec["conversations"])
    first = next(i for i, x in enumerate(labels) if x != -100)
    assert ids[:first] == LocalModel(None, tok).prompt_ids(stub.seen[1])
    assert tok.decode(labels[first:], skip_special_tokens=True) == generate(ir)


def test_prepare_builds_repairs_from_training_specs_only(tmp_path):
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(tmp_path),
                              "--set", "synth.count=60", "--set", "prepare.repair_fraction=0.3"])
    assert code == 0, out + err
    train = [json.loads(x) for x in (tmp_path / "prepare" / "train.jsonl").read_text().splitlines()]
    evals = [json.loads(x) for x in (tmp_path / "prepare" / "eval.jsonl").read_text().splitlines()]
    repairs = [r for r in train if r.get("task") == "repair"]
    specs = {r["conversations"][1]["value"] for r in train if r.get("task", "ir2code") == "ir2code"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())["prepare"]
    assert metrics["repair_train"] == len(repairs)
    assert metrics["repair_not_compiling"] + metrics["repair_misbehaving"] == len(repairs)
    if shutil.which("mcs") and shutil.which("mono"):
        assert len(repairs) == round(0.3 * len(specs))
    assert {r["conversations"][1]["value"] for r in repairs} <= specs
    assert not {r["conversations"][1]["value"] for r in repairs} & {r["conversations"][1]["value"] for r in evals}
    assert not any(r.get("task") == "repair" for r in evals)
    assert all([t["from"] for t in r["conversations"]] == ["system", "human", "gpt", "human", "gpt"] for r in repairs)


def _fix_rate(first: list[str], repaired: list[str], rounds: int = 1, checked: bool = False) -> dict:
    irs = [{**ir, "class_name": f"Spec{i}"} for i, ir in enumerate(_irs(len(first)))]
    checker = FakeChecker()
    how = Checking(checker, None, repair_rounds=rounds, max_new_tokens=64)
    if checked:
        first = Generator(None, checker=checker, behaviour=None, constrained=False).check(irs, first)
    return text_and_repair_metrics(Scripted(repaired), [""] * len(irs), irs, first, how)


def test_repair_fix_rate_counts_the_failing_first_attempts_one_round_fixes():
    ok, bad = "class A {}\n", "class A { BROKEN }\n"
    # four specs, two fail first; the model fixes one of them in its one round
    out = _fix_rate([ok, bad, ok, bad], [ok, bad])
    assert (out["repair_failing_first"], out["repair_fixed_by_one_round"]) == (2, 1)
    assert out["repair_fix_rate"] == 0.5 and out["compile_at_1_with_repair"] == 0.75
    assert _fix_rate([ok, bad, ok, bad], [ok, bad], checked=True)["repair_fix_rate"] == 0.5  # Attempts given
    # a model that fixes nothing, one that fixes all
    assert _fix_rate([bad, bad, ok], [bad, bad])["repair_fix_rate"] == 0.0
    assert _fix_rate([bad, bad, ok], [ok, ok])["repair_fix_rate"] == 1.0
    # fixed only in the second round: not fixed by one round (with repair, it compiles)
    two = _fix_rate([bad, ok], [bad, ok], rounds=2)
    assert two["repair_fix_rate"] == 0.0 and two["compile_at_1_with_repair"] == 1.0
    # nothing failed: counts, no rate; no repair rounds: no repair counts at all
    none = _fix_rate([ok, ok], [])
    assert none["repair_failing_first"] == 0 and "repair_fix_rate" not in none
    assert "repair_failing_first" not in _fix_rate([bad, ok], [], rounds=0)


def test_prepare_with_the_syntax_check_keeps_only_what_it_rejects(tmp_path):
    """With ``evaluate.compiler=syntax`` (no mcs) the repair conversations are the mutants the
    tree-sitter check rejects, in its words; none misbehaves (no behaviour check ran)."""
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(tmp_path),
                              "--set", "synth.count=40", "--set", "prepare.repair_fraction=0.3",
                              "--set", "evaluate.compiler=syntax"])
    assert code == 0, out + err
    train = [json.loads(x) for x in (tmp_path / "prepare" / "train.jsonl").read_text().splitlines()]
    repairs = [r for r in train if r.get("task") == "repair"]
    assert repairs and all(r["verdict"] == g.FAILS for r in repairs)
    assert {r["mutation"] for r in repairs} <= {"missing_semicolon", "cut_off"}
    assert all(r["conversations"][3]["value"].startswith("The script does not compile:") for r in repairs)


@pytest.mark.slow
def test_a_model_taught_a_repair_turn_fixes_its_own_broken_program(tiny_model_dir):
    """The tiny model taught, in train's encoding, to write a broken program for an IR *and* the
    repair record that fixes it, writes the broken one first and the fixed one in the generator's
    repair round: repair_fix_rate 1.0. (Were the repair record's earlier turns not in its
    training prompt, its two answers would share one prompt and the model could not learn both.)"""
    import sys
    from pathlib import Path

    from transformers import AutoModelForCausalLM, AutoTokenizer

    sys.path.insert(0, str(Path(__file__).parent))
    from irgen_taught import fit_examples

    from almost_irgen.generator import LocalModel
    from almost_irgen.model import encode
    from almost_irgen.sharegpt import record

    ir = _irs(1, seed=5)[0]
    broken = generate(ir).replace("MonoBehaviour", "MonoBehaviour /* BROKEN */", 1)
    checker = FakeChecker(good={generate(ir).strip()})  # only the rule program passes
    first = Generator(None, checker=checker, behaviour=None, constrained=False).check([ir], [broken])[0]
    rec = repairdata.repair_record(ir, broken, first, "test")
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    examples = [encode(tok, record(ir, broken)["conversations"]), encode(tok, rec["conversations"])]
    fit_examples(model, examples, 400, stop_below=0.02)
    lm = LocalModel(model, tok)
    budget = max(len(labels) for _, labels in examples)
    assert lm.codes([ir], budget) == [broken]  # its own first attempt is the broken program
    details: list[dict] = []
    out = text_and_repair_metrics(lm, [""], [ir], lm.codes([ir], budget),
                                  Checking(checker, None, repair_rounds=1, max_new_tokens=budget), details)
    assert out["repair_failing_first"] == 1 and out["repair_fix_rate"] == 1.0
    assert details[0]["verdict_with_repair"] == g.COMPILES and details[0]["repairs"] == 1
