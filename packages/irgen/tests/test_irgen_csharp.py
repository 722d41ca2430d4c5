"""Compile checks: mono mcs against the UnityEngine stub (when installed) and tree-sitter syntax."""

from __future__ import annotations

import random
import shutil

import pytest

from almost_irgen.conformance import check as conformance
from almost_irgen.csharp import MonoCompiler, SyntaxChecker, error_codes, find_compiler
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
