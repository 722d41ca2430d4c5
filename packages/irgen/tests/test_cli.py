"""The ``almost irgen`` verbs: ``check FILE.cs`` (a verdict per file; with ``--ir SPEC.json`` the compile
verdict, then the behaviour verdict) and the interactive loop of ``try`` / ``evaluate.interactive``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from almost.testing import run_cli
from almost_irgen.unitysim import read_corpus

CORPUS = Path(__file__).parent / "behaviour_corpus"
CS_CORPUS = Path(__file__).parent / "corpus"  # the compile check's labelled C# files
needs_mono = pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None,
                                reason="needs mono and mcs (apt-get install mono-mcs)")


@pytest.fixture()
def spinner(tmp_path):
    programs = [p for p in read_corpus(CORPUS) if p.spec == "spinner"]
    spec = tmp_path / "spinner.json"
    spec.write_text(json.dumps(programs[0].ir))
    files = {}
    for name, p in (("good", next(p for p in programs if p.label == "ok")),
                    ("axis", next(p for p in programs if "around x" in p.what))):
        files[name] = tmp_path / f"{name}.cs"
        files[name].write_text(p.code)
    files["broken"] = tmp_path / "broken.cs"
    files["broken"].write_text(programs[0].code.replace("speed * Time.deltaTime", "speed * Time.deltaTim"))
    return spec, files


@pytest.mark.compiler
@needs_mono
def test_check_ir_exits_0_when_the_program_behaves(spinner):
    spec, files = spinner
    code, out, err = run_cli(["irgen", "check", str(files["good"]), "--ir", str(spec)])
    assert code == 0, out + err
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert "compiles" in lines[0] and "behaves as" in lines[1]


@pytest.mark.compiler
@needs_mono
def test_check_ir_exits_1_with_a_line_per_observable_that_differed(spinner):
    spec, files = spinner
    code, out, err = run_cli(["irgen", "check", str(files["axis"]), "--ir", str(spec)])
    assert code == 1 and "compiles" in out and "misbehaves" in out
    differences = [ln for ln in out.splitlines() if ln.startswith("  ")]
    assert differences and all("run:" in ln for ln in differences) and any("rotation" in ln for ln in differences)
    code, out, err = run_cli(["irgen", "check", str(files["broken"]), "--ir", str(spec)])
    assert code == 1 and "CS0117 at line 5" in out and "behaves" not in out  # no behaviour verdict without a program
    code, out, err = run_cli(["irgen", "check", "--json", str(files["good"]), str(files["axis"]), str(files["broken"]),
                              "--ir", str(spec)])
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert code == 1 and [r["behaviour"] for r in rows] == ["behaves", "misbehaves", None]
    assert rows[0]["differences"] == [] and rows[1]["differences"] and rows[2]["verdict"] == "error"


def test_check_ir_that_does_not_validate_is_one_sentence_and_exit_2(tmp_path):
    cs = tmp_path / "Spinner.cs"
    cs.write_text("using UnityEngine;\npublic class Spinner : MonoBehaviour { }\n")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ir_version": "1.0", "class_name": "Spinner",
                               "behaviours": [{"trigger": {"event": "update"}, "actions": [{"op": "rotate", "axis": "w",
                                                                                           "degrees_per_second": 9}]}]}))
    for spec in (bad, tmp_path / "missing.json"):
        code, out, err = run_cli(["irgen", "check", str(cs), "--ir", str(spec)])
        text = (out + err).strip()
        assert code == 2 and "Traceback" not in text and len(text.splitlines()) == 1, text
        assert spec.name in text
    notjson = tmp_path / "notjson.json"
    notjson.write_text("{ not json")
    code, out, err = run_cli(["irgen", "check", str(cs), "--ir", str(notjson)])
    assert code == 2 and "not valid JSON" in out + err and "Traceback" not in out + err


@pytest.mark.compiler
@needs_mono
def test_check_command_prints_a_verdict_per_file_and_exits_0_only_when_all_compile():
    ok, bad, new = (str(CS_CORPUS / f"{n}.cs") for n in ("ok_keycode_r", "err_position_x", "new_switch_expression"))
    code, out, err = run_cli(["irgen", "check", ok])
    assert code == 0 and "compiles" in out
    code, out, err = run_cli(["irgen", "check", ok, bad, new])
    assert code == 1
    assert "CS1612 at line 9" in out and "needs newer C#" in out and "switch expression" in out
    code, out, err = run_cli(["irgen", "check", "--json", ok, bad, new])
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert code == 1 and [r["verdict"] for r in rows] == ["compiles", "error", "newer_csharp"]
    assert rows[1]["code"] == "CS1612" and rows[1]["line"] == 9 and rows[2]["feature"].startswith("switch")


def test_check_command_names_a_missing_file(tmp_path):
    code, out, err = run_cli(["irgen", "check", str(tmp_path / "nope.cs")])
    assert code == 2 and "nope.cs is not a file" in out + err and "Traceback" not in out + err


def test_interactive_mode_answers_specs_and_explains_bad_ones(tiny_model_dir, monkeypatch, capsys):
    import builtins

    from almost_irgen.cli import loop
    from almost_irgen.csharp import SyntaxChecker
    from almost_irgen.model import load_model, load_tokenizer

    good = json.dumps({"ir_version": "1.0", "class_name": "Lamp", "behaviours": [
        {"trigger": {"event": "start"}, "actions": [{"op": "log", "message": "on"}]}]})
    lines = iter(['{"ir_version": "1.0"}', good])

    def fake_input(prompt=""):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    tok = load_tokenizer(tiny_model_dir)
    tok.padding_side = "left"
    loop(load_model(tiny_model_dir), tok, SyntaxChecker(), 8)
    out = capsys.readouterr().out
    assert "is not valid at $" in out and "class_name" in out  # the bad spec, explained
    assert "conformance" in out  # the good one, answered and scored
