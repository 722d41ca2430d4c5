"""The compile check against a labelled corpus, per-sample isolation, newer C#, and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from almost.testing import run_cli
from almost_irgen import corpus
from almost_irgen.csharp import NEWER, MonoCompiler, declares_class, newer_feature

CORPUS = Path(__file__).parent / "corpus"
needs_mcs = pytest.mark.skipif(shutil.which("mcs") is None or shutil.which("mono") is None,
                               reason="mono's C# compiler `mcs` is not installed (apt-get install mono-mcs)")


def test_corpus_is_big_labelled_and_justified():
    samples = corpus.load(CORPUS)
    assert len(samples) >= 150
    labels = {s.label for s in samples}
    assert {"compiles", "newer", "CS1612", "CS0200", "CS0246", "EMPTY"} <= labels
    assert sum(s.label == "compiles" for s in samples) >= 100 and sum(s.label not in ("compiles", "newer")
                                                                        for s in samples) >= 50
    assert all(len(s.why) > 10 for s in samples)


@pytest.mark.compiler
@pytest.mark.slow
@needs_mcs
def test_corpus_false_accepts_and_rejects_within_goal():
    samples = corpus.load(CORPUS)
    with MonoCompiler(workers=2) as c:
        results = c.check([s.source for s in samples])
    sc = corpus.score(samples, results)
    print(json.dumps({k: v for k, v in sc.items() if not isinstance(v, list)}))
    assert sc["false_accept_rate"] <= 0.03, sc["false_accepts"]
    assert sc["false_reject_rate"] <= 0.05, sc["false_rejects"]
    assert sc["newer_recognised"] == 1.0, sc["newer_missed"]
    assert sc["code_agreement"] >= 0.85, sc["wrong_code"]


@pytest.mark.compiler
@needs_mcs
def test_each_sample_is_compiled_alone():
    spinner = (CORPUS / "ok_spinner_defined.cs").read_text()
    user = (CORPUS / "err_undefined_class_spinner.cs").read_text()
    twice = "using UnityEngine;\npublic class Spinner : MonoBehaviour { }\n"
    with MonoCompiler() as c:
        a, b, d = c.check([spinner, user, twice])
    assert a.ok and d.ok  # the same class name in two samples is no clash
    assert not b.ok and b.codes[0] == "CS0246" and b.line == 7  # Spinner from another sample is not visible


@pytest.mark.compiler
@needs_mcs
def test_server_and_one_process_per_sample_agree(tmp_path):
    files = ["ok_raycast_out_hit", "err_position_x", "err_missing_semicolon", "new_null_coalescing_assign"]
    srcs = [(CORPUS / f"{f}.cs").read_text() for f in files]
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


@pytest.mark.compiler
@needs_mcs
def test_check_command_prints_a_verdict_per_file_and_exits_0_only_when_all_compile():
    ok, bad, new = (str(CORPUS / f"{n}.cs") for n in ("ok_keycode_r", "err_position_x", "new_switch_expression"))
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
