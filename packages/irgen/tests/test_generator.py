"""The generate path: sentence → IR under the schema → C# → compile + behaviour check → repair."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gguf_families import build  # noqa: E402
from irgen_taught import IR, SENTENCE, teach  # noqa: E402

from almost.testing import run_cli  # noqa: E402
from almost_irgen.generator import BEHAVES, COMPILES, FAILS, Generator, LocalModel  # noqa: E402
from almost_irgen.rules import generate as rules_code  # noqa: E402

GOOD = (BEHAVES, COMPILES)


@pytest.fixture(scope="session")
def taught_run(tmp_path_factory, tiny_model_dir) -> Path:
    return teach(tiny_model_dir, tmp_path_factory.getbasetemp() / "taught-run")


class Scripted:
    """A backend that answers from a script and records every conversation it was given."""

    def __init__(self, irs: list[str], codes: list[str]) -> None:
        self.irs, self.codes, self.seen = list(irs), list(codes), []

    def complete(self, convs, *, max_new_tokens, json_schema=None, temperature=0.0, seed=0):
        self.seen += [("ir" if json_schema is not None else "code", c) for c in convs]
        return [(self.irs if json_schema is not None else self.codes).pop(0) for _ in convs]


def test_constrained_decoding_keeps_a_random_model_inside_the_schema(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost_irgen.text2ir import decoding_schema, parse, text_conversation

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)
    lm = LocalModel(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tok)
    small = {"type": "object", "properties": {"axis": {"enum": ["x", "y", "z"]}, "on": {"type": "boolean"}},
             "required": ["axis", "on"], "additionalProperties": False,
             "x-guidance": {"whitespace_flexible": False}}
    conv = [text_conversation("spin")]
    for seed in range(3):
        out = lm.complete(conv, max_new_tokens=30, json_schema=small, temperature=1.0, seed=seed)[0]
        data = json.loads(out)  # sampled from an untrained model, and still exactly the schema's language
        assert set(data) == {"axis", "on"} and data["axis"] in "xyz" and isinstance(data["on"], bool)
    free = lm.complete(conv, max_new_tokens=30, temperature=1.0)[0]
    with pytest.raises(json.JSONDecodeError):
        json.loads(free)
    # the IR schema: an untrained model's answer is a prefix of schema-valid IR (cut by the budget)
    ir_text = lm.complete(conv, max_new_tokens=40, json_schema=decoding_schema())[0]
    assert ir_text.startswith('{"ir_version":"1.0","class_name":"')
    assert parse(ir_text)[0] is None


def test_repair_round_feeds_the_compiler_errors_back():
    broken = rules_code(IR).replace("Rotate(", "Rotat(", 1)
    bad_ir = json.dumps({**IR, "fields": [{"name": "speed", "type": "string", "default": "fast"}]})  # rotate by a string
    stub = Scripted([bad_ir, json.dumps(IR)], [broken, rules_code(IR)])
    gen = Generator(stub, repair_rounds=2)
    try:
        result = gen.generate(SENTENCE)
    finally:
        gen.close()
    assert result.ir == IR and result.ir_rounds == 1
    ir_turn = stub.seen[1][1][-1]["value"]
    assert "degrees_per_second" in ir_turn and "speed" in ir_turn  # the IR problem, by path, went back
    assert [a.verdict for a in result.attempts][0] == FAILS and result.verdict in GOOD and result.repairs == 1
    code_turns = [c for kind, c in stub.seen if kind == "code"]
    assert code_turns[1][-2]["value"] == broken and "Rotat" in code_turns[1][-1]["value"]  # the error went back
    assert result.code == rules_code(IR)


def test_no_repair_keeps_the_first_verdict():
    broken = rules_code(IR).replace(";", "", 1)
    gen = Generator(Scripted([], [broken]), repair_rounds=0)
    try:
        result = gen.generate(IR)
    finally:
        gen.close()
    assert result.verdict == FAILS and len(result.attempts) == 1 and result.attempts[0].errors


def test_a_repair_that_breaks_the_program_never_replaces_a_better_one():
    from almost_irgen.generator import MISBEHAVES, Attempt, Result, describe

    r = Result(None, IR, attempts=[Attempt("ok();", MISBEHAVES, ["rotates about y, expected z"]),
                                   Attempt("broken(", FAILS, ["CS1525"])])
    assert r.verdict == MISBEHAVES and r.compiles and r.code == "ok();" and r.repairs == 1
    assert "kept attempt 1" in describe(r) and "rotates about y" in describe(r)
    r.attempts.append(Attempt("fixed();", BEHAVES))
    assert r.verdict == BEHAVES and r.code == "fixed();" and "kept" not in describe(r)


def test_generate_end_to_end_on_a_tiny_model(taught_run, tmp_path):
    out = tmp_path / "Coin.cs"
    code, stdout, stderr = run_cli(["irgen", "generate", SENTENCE, "--run", str(taught_run), "--out", str(out),
                                    "--repair", "1"])
    assert code == 0, stdout + stderr
    assert '"class_name": "Coin"' in stdout and "wrote" in stdout
    text = out.read_text()
    assert "class Coin : MonoBehaviour" in text and text == rules_code(IR)
    expect = "behaves" if shutil.which("mcs") and shutil.which("mono") else "compiles"
    assert expect in stdout


def test_generate_api_on_a_tiny_model_and_ir_request(taught_run):
    gen = Generator.from_run(taught_run, repair_rounds=0)
    try:
        by_text, by_ir = gen.generate_many([SENTENCE, IR])
    finally:
        gen.close()
    assert by_text.ir == IR and by_text.verdict in GOOD
    assert by_ir.sentence is None and by_ir.code == by_text.code


def test_generate_without_a_run_is_one_sentence(tmp_path):
    code, stdout, stderr = run_cli(["irgen", "generate", "a coin", "--run", str(tmp_path / "nope")])
    assert code != 0 and "no trained adapter" in stdout + stderr and "Traceback" not in stdout + stderr


def test_a_models_ir_gets_the_components_its_ops_imply_but_a_persons_file_is_still_checked():
    """Run D's commonest IR@1 failure: valid JSON that leaves out the component an op needs
    (apply_force → Rigidbody). The sentence → IR path completes it; ir.validate still names it."""
    from almost_irgen.ir import IRError, complete_components, validate
    from almost_irgen.text2ir import parse, parse_answer

    pushed = {"ir_version": "1.0", "class_name": "Pusher", "components": ["Light"],
              "behaviours": [{"trigger": {"event": "start"},
                              "actions": [{"op": "apply_force", "force": [0, 5, 0], "mode": "Impulse"},
                                          {"op": "apply_force", "force": [1, 0, 0], "mode": "Impulse"}]}]}
    with pytest.raises(IRError, match="apply_force needs 'Rigidbody' in components"):
        validate(pushed)
    ir, found = parse(json.dumps(pushed))
    assert found == [] and ir["components"] == ["Light", "Rigidbody"]  # kept, then added once
    assert complete_components(ir) == (ir, [])  # nothing left to add
    assert parse_answer(json.dumps(pushed))[2] == ["Rigidbody"]  # evaluate counts the completions
    assert complete_components({**pushed, "components": None})[1] == []  # not a list: left to validation
    assert complete_components("not an IR") == ("not an IR", [])
    # an IR with no component-needing op is untouched, and real problems still fail
    assert parse(json.dumps(IR)) == (IR, [])
    assert parse(json.dumps({**IR, "fields": [{"name": "speed", "type": "string", "default": "fast"}]}))[0] is None


def test_evaluate_counts_the_completed_answers_and_scores_them_like_any_other():
    """text_and_repair_metrics: one answer missing its Rigidbody (completed, matches), one with
    the wrong op (valid, no match), one not JSON: IR@1 1/3, valid 2/3, completed 1/3."""
    from almost_irgen.csharp import find_compiler
    from almost_irgen.generator import Checking, text_and_repair_metrics

    ref = {"ir_version": "1.0", "class_name": "Pusher", "components": ["Rigidbody"],
           "behaviours": [{"trigger": {"event": "start"},
                           "actions": [{"op": "apply_force", "force": [0, 5, 0], "mode": "Impulse"}]}]}
    missing = {**ref, "components": []}
    wrong = {**ref, "behaviours": [{"trigger": {"event": "start"}, "actions": [{"op": "destroy", "target": "self"}]}]}
    stub = Scripted([json.dumps(missing), json.dumps(wrong), "{not json"], [])
    checker = find_compiler("auto")
    details: list[dict] = []
    try:
        out = text_and_repair_metrics(stub, ["push it up"] * 3, [ref] * 3, [rules_code(ref)] * 3,
                                      Checking(checker, None, repair_rounds=0, max_new_tokens=64), details=details)
    finally:
        checker.close()
    assert out["ir_at_1_from_text"] == pytest.approx(1 / 3) and out["ir_valid_from_text"] == pytest.approx(2 / 3)
    assert out["ir_completed_from_text"] == pytest.approx(1 / 3)
    # and each spec's answer is kept for evaluate's samples.jsonl
    assert [d["ir_from_text_matches"] for d in details] == [True, False, False]
    assert details[0]["ir_from_text"]["components"] == ["Rigidbody"] and details[0]["ir_from_text_completed"] == ["Rigidbody"]
    assert details[1]["ir_from_text"]["behaviours"][0]["actions"][0]["op"] == "destroy"
    assert details[2]["ir_from_text"] is None and "not valid JSON" in details[2]["ir_from_text_problems"][0]
    assert all(d["verdict_with_repair"] == "compiles" for d in details)


def test_a_field_an_op_names_is_declared_with_the_type_the_op_fixes():
    """A model's answer that names `rate` and `prefab` in its ops without declaring them gets the
    declarations (float, GameObject; no default); a person's IR is still rejected, and a name
    declared with another type stays an error."""
    from almost_irgen.ir import IRError, complete_fields, validate
    from almost_irgen.text2ir import parse_answer

    answer = {"ir_version": "1.0", "class_name": "Guard", "fields": [{"name": "isOpen", "type": "bool", "default": True}],
              "behaviours": [{"trigger": {"event": "on_trigger_enter"},
                              "actions": [{"op": "rotate", "axis": "x", "degrees_per_second": "rate"},
                                          {"op": "spawn", "prefab_field": "prefab"},
                                          {"op": "set_field", "field": "armed", "value": False},
                                          {"op": "set_active", "target_field": "prefab", "active": True}]}]}
    with pytest.raises(IRError, match="expected a declared float or int field, got 'rate'"):
        validate(answer)
    ir, found, added = parse_answer(json.dumps(answer))
    assert found == [] and added == ["field rate: float", "field prefab: GameObject", "field armed: bool"]
    assert ir["fields"][1:] == [{"name": "rate", "type": "float"}, {"name": "prefab", "type": "GameObject"},
                                {"name": "armed", "type": "bool"}]
    assert complete_fields(ir) == (ir, [])  # nothing left to add
    # a number is not a field, and a field declared with another type is not redeclared: still an error
    assert complete_fields({**answer, "behaviours": [{"trigger": {"event": "start"},
                                                      "actions": [{"op": "rotate", "axis": "x", "degrees_per_second": 90}]}]})[1] == []
    clash = {**answer, "fields": [{"name": "prefab", "type": "float", "default": 1}]}
    ir, found, added = parse_answer(json.dumps(clash))
    assert ir is None and any("prefab_field: expected a declared GameObject field" in f for f in found)
    assert complete_fields("not an IR") == ("not an IR", [])
    # a compared field takes the type of the number: "if lives is less than 1" declares an int
    guard = {"ir_version": "1.0", "class_name": "Guard",
             "behaviours": [{"trigger": {"event": "update"}, "condition": {"kind": "compare", "field": "lives", "cmp": "<",
                                                                        "value": 1},
                             "actions": [{"op": "destroy", "target": "self"}]}]}
    with pytest.raises(IRError, match="condition.field"):
        validate(guard)
    ir, found, added = parse_answer(json.dumps(guard))
    assert found == [] and added == ["field lives: int"]
    guard["behaviours"][0]["condition"]["value"] = 0.5
    assert complete_fields(guard)[1] == ["lives: float"]


def test_what_is_added_goes_where_the_training_data_puts_it():
    """An answer without "components" gets them before "fields", as every training IR has them,
    not appended last: the IR → C# prompt then looks like the ones the model learnt from."""
    from almost_irgen.ir import dumps
    from almost_irgen.text2ir import parse_answer

    answer = {"ir_version": "1.0", "class_name": "Coin",
              "behaviours": [{"trigger": {"event": "on_trigger_enter"},
                              "actions": [{"op": "play_sound", "clip_field": "jingle"}]}]}
    ir, found, added = parse_answer(json.dumps(answer))
    assert found == [] and added == ["AudioSource", "field jingle: AudioClip"]
    assert list(ir) == ["ir_version", "class_name", "components", "fields", "behaviours"]
    assert dumps(ir).startswith('{"ir_version":"1.0","class_name":"Coin","components":["AudioSource"],"fields":')
    # and every prompt is written this way, whatever order a file has its keys in
    person = {"behaviours": ir["behaviours"], "fields": ir["fields"], "class_name": "Coin", "ir_version": "1.0",
              "components": ["AudioSource"]}
    assert dumps(person) == dumps(ir)


# -- the one generation loop (LocalModel) ----------------------------------------------------------
def test_generation_passes_every_eos_id_and_batches_to_free_memory(tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost_irgen import memory
    from almost_irgen.generator import LocalModel, conversation

    folder = build("olmo3", tmp_path / "olmo3")  # generation_config: [<|im_end|>, <|endoftext|>]
    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    im_end, eot = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    assert tok.eos_token_id == eot  # the tokenizer alone knows only one of the two
    seen = {}
    rows = []
    real = model.generate

    def spy(*a, **kw):
        seen.update(kw)
        rows.append(len(kw["input_ids"]))
        return real(*a, **kw)

    monkeypatch.setattr(model, "generate", spy)
    irs = [{"class_name": "Spinner", "fields": [], "behaviours": []}]
    LocalModel(model, tok, batch_size=4).codes(irs, max_new_tokens=4)
    assert set(seen["eos_token_id"]) == {im_end, eot}
    assert seen["input_ids"].device == model.device
    # the one loop sizes its batch to the free memory: room for two sequences' KV cache, batches of two
    irs = irs * 5
    assert rows == [1]
    rows.clear()
    LocalModel(model, tok, batch_size=4).codes(irs, max_new_tokens=4)
    assert rows == [4, 1]  # no limit on a CPU
    rows.clear()
    lm = LocalModel(model, tok, batch_size=4)
    length = len(lm.prompt_ids(conversation(irs[0]))) + 4
    per = memory.kv_bytes_per_sequence(model.config, length, 4) + model.config.vocab_size * 8
    monkeypatch.setattr(memory, "free_device_bytes", lambda device: int(2 * per / 0.85) + 1)
    lm.codes(irs, max_new_tokens=4)
    assert rows == [2, 2, 1]


def test_generation_batch_follows_free_memory():
    from almost_irgen.memory import generation_batch, kv_bytes_per_sequence, load_config

    cfg = load_config("qwen2.5-7b")  # GQA: 4 kv heads
    per = kv_bytes_per_sequence(cfg, 1000)
    assert per == 2 * 28 * 4 * 128 * 1000 * 2
    assert generation_batch(cfg, 64, 1000, 10 * per) < 10 <= generation_batch(cfg, 64, 1000, 20 * per)
