"""Compile checks: mono mcs against the UnityEngine stub (when installed) and tree-sitter syntax."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from almost_irgen import corpus
from almost_irgen.conformance import check as conformance
from almost_irgen.csharp import (
    NEWER,
    MonoCompiler,
    SyntaxChecker,
    declares_class,
    error_codes,
    find_compiler,
    newer_feature,
)
from almost_irgen.rules import generate
from almost_irgen.synthgen import Size, random_ir

GOOD = """using UnityEngine;

public class Spinner : MonoBehaviour
{
    public float speed = 90f;

    void Update()
    {
        transform.Rotate(Vector3.up * speed * Time.deltaTime);
    }
}
"""
UNKNOWN_NAME = GOOD.replace("speed * Time", "sped * Time")
SYNTAX = GOOD.replace("90f;", "90f")

CS_CORPUS = Path(__file__).parent / "corpus"
needs_mono_mcs = pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None,
                                    reason="mono's C# compiler `mcs` is not installed (apt-get install mono-mcs)")
needs_mcs = pytest.mark.skipif(shutil.which("mcs") is None,
                               reason="mono's C# compiler `mcs` is not installed (apt-get install mono-mcs)")


@pytest.mark.compiler
@needs_mcs
def test_mcs_compiles_good_and_rejects_broken():
    results = MonoCompiler().check([GOOD, UNKNOWN_NAME, SYNTAX, GOOD.replace("Spinner", "Other")])
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].codes == ["CS0103"]  # the syntax error in file 3 did not hide this one
    assert "CS1525" in results[2].codes or "CS1002" in results[2].codes
    assert error_codes(results)["CS0103"] == 1


@pytest.mark.compiler
@needs_mcs
def test_mcs_compiles_every_rule_generated_script_and_duplicate_class_names():
    rng = random.Random(3)
    irs = [random_ir(rng, Size(4, 3, 3)) for _ in range(40)]
    codes = [generate(ir) for ir in irs] + [GOOD, GOOD]  # same class twice: compiled in separate batches
    assert all(r.ok for r in MonoCompiler().check(codes))


def test_syntax_checker_without_a_compiler():
    checker = SyntaxChecker()
    assert not checker.compiles
    results = checker.check([GOOD, SYNTAX, UNKNOWN_NAME, ""])
    assert [r.ok for r in results] == [True, False, True, False]  # semantics are not checked
    assert results[1].codes == ["SYNTAX"]
    assert find_compiler("syntax").name == "tree-sitter"


def test_conformance_punishes_code_that_compiles_but_ignores_the_spec():
    ir = {"ir_version": "1.0", "class_name": "Spinner", "fields": [{"name": "speed", "type": "float"}],
          "behaviours": [{"trigger": {"event": "update"}, "actions": [
              {"op": "rotate", "axis": "y", "degrees_per_second": "speed"}, {"op": "log", "message": "hi"}]}]}
    empty = "using UnityEngine;\npublic class Spinner : MonoBehaviour { }\n"
    score, failed = conformance(ir, empty)
    assert score == pytest.approx(1 / 5)  # only the class name of 5 checks
    assert "behaviours[0].actions[0] rotate" in failed and "field speed" in failed
    assert conformance(ir, GOOD.replace("}\n}", "    Debug.Log(\"hi\");\n    }\n}"))[0] == 1.0
    # a call commented out does not count
    assert conformance(ir, GOOD.replace("transform.Rotate", "// transform.Rotate"))[1][0].endswith("rotate")


def test_an_empty_answer_is_not_a_compiled_script():
    results = find_compiler("auto").check(["\n", "// nothing here\n"])
    assert [r.ok for r in results] == [False, False] and results[0].codes == ["EMPTY"]
    assert SyntaxChecker().check([""])[0].codes == ["EMPTY"]


def test_code_is_extracted_from_model_answers():
    from almost_irgen.generator import extract_code

    assert extract_code("```\n\n```csharp\n" + GOOD + "```\nHope it helps!") == GOOD
    assert extract_code(GOOD) == GOOD
    assert extract_code("Sure:\n```cs\n" + GOOD) == GOOD  # unterminated fence


# -- the labelled corpus (tests/corpus): false accepts and rejects, isolation, newer C# ------------
def test_corpus_is_big_labelled_and_justified():
    samples = corpus.load(CS_CORPUS)
    assert len(samples) >= 150
    labels = {s.label for s in samples}
    assert {"compiles", "newer", "CS1612", "CS0200", "CS0246", "EMPTY"} <= labels
    assert sum(s.label == "compiles" for s in samples) >= 100 and sum(s.label not in ("compiles", "newer")
                                                                        for s in samples) >= 50
    assert all(len(s.why) > 10 for s in samples)


@pytest.mark.compiler
@pytest.mark.slow
@needs_mono_mcs
def test_corpus_false_accepts_and_rejects_within_goal():
    samples = corpus.load(CS_CORPUS)
    with MonoCompiler(workers=2) as c:
        results = c.check([s.source for s in samples])
    sc = corpus.score(samples, results)
    print(json.dumps({k: v for k, v in sc.items() if not isinstance(v, list)}))
    assert sc["false_accept_rate"] <= 0.03, sc["false_accepts"]
    assert sc["false_reject_rate"] <= 0.05, sc["false_rejects"]
    assert sc["newer_recognised"] == 1.0, sc["newer_missed"]
    assert sc["code_agreement"] >= 0.85, sc["wrong_code"]


@pytest.mark.compiler
@needs_mono_mcs
def test_each_sample_is_compiled_alone():
    spinner = (CS_CORPUS / "ok_spinner_defined.cs").read_text()
    user = (CS_CORPUS / "err_undefined_class_spinner.cs").read_text()
    twice = "using UnityEngine;\npublic class Spinner : MonoBehaviour { }\n"
    with MonoCompiler() as c:
        a, b, d = c.check([spinner, user, twice])
    assert a.ok and d.ok  # the same class name in two samples is no clash
    assert not b.ok and b.codes[0] == "CS0246" and b.line == 7  # Spinner from another sample is not visible


@pytest.mark.compiler
@needs_mono_mcs
def test_server_and_one_process_per_sample_agree(tmp_path):
    files = ["ok_raycast_out_hit", "err_position_x", "err_missing_semicolon", "new_null_coalescing_assign"]
    srcs = [(CS_CORPUS / f"{f}.cs").read_text() for f in files]
    with MonoCompiler(mode="server", workers=2) as s, MonoCompiler(mode="process") as p:
        got_s, got_p = s.check(srcs), p.check(srcs)
    assert [r.verdict for r in got_s] == [r.verdict for r in got_p] == ["compiles", "error", "error", NEWER]
    assert [r.codes for r in got_s] == [r.codes for r in got_p]


def test_comments_are_not_classes_and_newer_features_are_named():
    assert not declares_class("// class Foo : MonoBehaviour { }\n/* class Bar */")
    assert not declares_class('using UnityEngine;\nstring s = "class X";')
    assert declares_class("public class A : MonoBehaviour { }")
    assert newer_feature("class A { void F() { int x = 1 switch { _ => 2 }; } }").startswith("switch expression")
    assert newer_feature("class A { void F() { string s = null; s ??= \"\"; } }").startswith("??=")
    assert newer_feature("class A { void F() { int x = 1; } }") == ""


