"""The pipeline end to end on a tiny model, ShareGPT preparation and split, and clear errors."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from almost.testing import load_app, run_cli
from almost_irgen.irmatch import fresh_path, load_handwritten
from almost_irgen.sharegpt import dedup, record, split, turn

METRICS = ("compile_at_1_rules", "compile_at_1_base", "compile_at_1_finetuned", "conformance_base",
           "conformance_finetuned", "compiler_used")


def test_pipeline_is_registered_with_profiles():
    app = load_app()
    p = app.pipelines["irgen"]
    assert [s.name for s in p.stages] == ["synth", "prepare", "train", "refine", "evaluate", "export"]
    tiny, full = p.resolve_config("tiny"), p.resolve_config("full")
    assert tiny.model.base == "smollm2" and full.train.batch_tokens > tiny.train.batch_tokens
    assert p.resolve_config("tiny", sets=["train.lora_r=4"]).train.lora_r == 4


def test_split_is_seeded_85_15_and_keeps_same_prompt_together():
    import random

    from almost_irgen.rules import generate
    from almost_irgen.synthgen import random_ir

    rng = random.Random(0)
    irs = [random_ir(rng) for _ in range(200)]
    recs = [record(ir, generate(ir)) for ir in irs]
    recs += [record(irs[i], generate(irs[i]) + "// variant\n") for i in range(0, 40, 2)]  # same prompt, new code
    recs += recs[:10]  # exact duplicates
    unique = dedup(recs)
    assert len(unique) == len(recs) - 10
    train, evals = split(unique, 0.15, seed=7)
    assert len(evals) == pytest.approx(0.15 * len(unique), abs=2)
    assert {turn(r, "human") for r in train}.isdisjoint({turn(r, "human") for r in evals})
    again = split(unique, 0.15, seed=7)
    assert [r["id"] for r in again[1]] == [r["id"] for r in evals]
    assert [r["id"] for r in split(unique, 0.15, seed=8)[1]] != [r["id"] for r in evals]


def test_prepare_writes_sharegpt(tmp_path):
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(tmp_path),
                              "--set", "synth.count=60", "--set", "prepare.text_to_ir_repeats=1",
                              "--set", "synth.phrasings=1"])  # one request per spec (tiny asks for two)
    assert code == 0, out + err
    train = [json.loads(x) for x in (tmp_path / "prepare" / "train.jsonl").read_text().splitlines()]
    evals = [json.loads(x) for x in (tmp_path / "prepare" / "eval.jsonl").read_text().splitlines()]
    text = [r for r in train if r.get("task") == "text2ir"]  # both tasks: sentence → IR from the same triplets
    train = [r for r in train if r.get("task") not in ("text2ir", "repair")]  # repair: test_repairdata.py
    assert len(train) + len(evals) == 60 and len(evals) in (9, 10)  # a spec and its minimal pair stay together
    assert {r["group"] for r in train}.isdisjoint({r["group"] for r in evals})
    assert len(text) == len(train) and json.loads(text[0]["conversations"][2]["value"])["ir_version"] == "1.0"
    assert text[0]["conversations"][1]["value"] == text[0]["prompt"]
    conv = train[0]["conversations"]
    assert [t["from"] for t in conv] == ["system", "human", "gpt"]
    assert json.loads(conv[1]["value"])["ir_version"] == "1.0" and "MonoBehaviour" in conv[2]["value"]


def test_prepare_repeats_the_sentence_to_ir_records_only(tmp_path):
    """prepare.text_to_ir_repeats=3: every sentence → IR record three times in train.jsonl, the
    IR → C# records once, the eval set untouched."""
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(tmp_path),
                              "--set", "synth.count=60", "--set", "prepare.text_to_ir_repeats=3",
                              "--set", "synth.phrasings=1"])
    assert code == 0, out + err
    train = [json.loads(x) for x in (tmp_path / "prepare" / "train.jsonl").read_text().splitlines()]
    evals = (tmp_path / "prepare" / "eval.jsonl").read_text()
    from collections import Counter

    text = Counter(r["id"] for r in train if r.get("task") == "text2ir")
    code_ids = Counter(r["id"] for r in train if r.get("task", "ir2code") == "ir2code")
    assert text and set(text.values()) == {3} and set(code_ids.values()) == {1}
    assert len(text) == len(code_ids) and '"text2ir"' not in evals
    metrics = json.loads((tmp_path / "metrics.json").read_text())["prepare"]
    assert metrics["text_to_ir_train"] == 3 * len(text)


def test_calibration_file_in_the_seed_layout(tmp_path):
    cal = tmp_path / "calibration_data.json"
    cal.write_text(json.dumps([{"instruction": "Make a cube that spins and glows", "output":
                                "using UnityEngine;\npublic class GlowSpinner : MonoBehaviour { }\n"}]))
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "--out", str(tmp_path / "run"),
                              "--set", "synth.count=5", "--set", f"synth.calibration_file={cal}"])
    assert code == 0, out + err
    rows = [json.loads(x) for x in (tmp_path / "run" / "synth" / "triplets.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and rows[-1]["ir"]["class_name"] == "GlowSpinner"
    assert rows[-1]["ir"]["behaviours"][0]["actions"][0] == {"op": "custom", "text": "Make a cube that spins and glows"}
    cal.write_text(json.dumps([{"note": "no code"}]))
    code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "--out", str(tmp_path / "run2"),
                              "--set", f"synth.calibration_file={cal}", "--set", "synth.on_bad_item=fail"])
    assert code == 2 and "item 0: needs a prompt" in out + err and "Traceback" not in out + err


@pytest.mark.slow
def test_tiny_model_end_to_end_metrics(tmp_path, tiny_model_dir):
    args = ["run", "--plugin", "irgen", "synth", "prepare", "train", "evaluate", "--out", str(tmp_path),
            "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=40", "--set", "train.max_steps=2",
            "--set", "evaluate.max_examples=4", "--set", "evaluate.max_new_tokens=24", "--set", "evaluate.k=2"]
    code, out, err = run_cli(args)
    assert code == 0, out + err
    m = json.loads((tmp_path / "metrics.json").read_text())["evaluate"]
    assert set(METRICS) <= set(m) and "compile_at_2_finetuned" in m
    assert m["compile_at_1_rules"] == 1.0 and m["conformance_rules"] == 1.0  # the baseline is exact
    if m["behaviour_checked"]:  # mono is there: behaviour@1 beside compile@1
        assert m["behaviour_at_1_rules"] == 1.0
        assert 0 <= m["behaviour_at_1_base"] <= 1 and 0 <= m["behaviour_at_1_finetuned"] <= 1
    assert all(0 <= m[k] <= 1 for k in METRICS)
    report = (tmp_path / "evaluate" / "report.md").read_text()
    assert "| rules | 1.00 | 1.00 | 1.00 |" in report
    samples = [json.loads(x) for x in (tmp_path / "evaluate" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4 and "finetuned_code" in samples[0]
    # each held-out spec shows its sentence, what the model made of it, and the verdict after repair
    assert all(s["prompt"] and "ir_from_text" in s and "verdict_with_repair" in s for s in samples)
    assert sum(bool(s["ir_from_text_matches"]) for s in samples) / 4 == pytest.approx(m["ir_at_1_from_text"])


def test_syntax_only_evaluation_says_compilation_was_skipped(tmp_path, tiny_model_dir):
    args = ["run", "--plugin", "irgen", "synth", "prepare", "train", "evaluate", "--out", str(tmp_path),
            "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=30", "--set", "train.max_steps=1",
            "--set", "evaluate.max_examples=2", "--set", "evaluate.max_new_tokens=8", "--set", "evaluate.compiler=syntax",
            "--set", "evaluate.ir_max_new_tokens=48"]
    code, out, err = run_cli(args)
    assert code == 0, out + err
    assert "compilation was skipped" in out
    m = json.loads((tmp_path / "metrics.json").read_text())["evaluate"]
    assert m["compiler_used"] == 0
    # the sentence metrics: every hand-written sentence and max_examples held-out phrasing requests, scored
    assert all(0 <= m[k] <= 1 for k in ("ir_match_from_text", "ir_match_heldout_phrasing", "ir_match_handwritten"))
    assert "behaviour_at_1_handwritten" not in m  # no behaviour check without mcs
    rows = [json.loads(x) for x in (tmp_path / "evaluate" / "sentences.jsonl").read_text().splitlines()]
    assert Counter(r["kind"] for r in rows) == {"handwritten": len(load_handwritten()), "heldout_phrasing": 2,
                                                "handwritten_fresh": len(load_handwritten(fresh_path()))}
    assert 0 <= m["ir_match_handwritten_fresh"] <= 1 and "behaviour_at_1_handwritten_fresh" not in m
    assert all(r["mismatches"] for r in rows if r["ir"] is None)


@pytest.mark.parametrize("sets, words", [
    (["model.base=/nonexistent/model"], "is not a transformers model folder"),
    (["model.base=TINY", "train.target_modules=c_attn"], "target_modules"),
])
def test_bad_input_is_one_sentence_exit_2(tmp_path, tiny_model_dir, sets, words):
    sets = [s.replace("TINY", str(tiny_model_dir)) for s in sets]
    run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(tmp_path), "--set", "synth.count=20"])
    code, out, err = run_cli(["run", "--plugin", "irgen", "train", "--out", str(tmp_path), "--force",
                              *[x for s in sets for x in ("--set", s)], "--set", "synth.count=20"])
    assert code == 2 and words in out + err and "Traceback" not in out + err


def test_evaluate_before_train_is_a_clear_error(tmp_path):
    code, out, err = run_cli(["run", "--plugin", "irgen", "evaluate", "--out", str(tmp_path)])
    assert code == 2 and "has not run" in out + err


