"""evaluate's sentence metrics with a scripted backend: a valid but wrong IR, a ``custom`` op and a
script that does not behave all count as failures; the right IR with the rule generator's script
counts end to end."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from almost_irgen.csharp import find_compiler
from almost_irgen.ir import dumps
from almost_irgen.irmatch import fresh_path, load_handwritten
from almost_irgen.rules import generate
from almost_irgen.sentence_eval import ir_match_from_text, sentence_metrics


class Scripted:
    """Answers a sentence with the IR it was told to, and an IR with the rule generator's C#
    (or an empty class for the IRs in ``empty``)."""

    def __init__(self, answers: dict[str, dict], empty: tuple[str, ...] = ()) -> None:
        self.answers, self.empty = answers, empty

    def complete(self, convs, *, max_new_tokens, json_schema=None, temperature=0.0, seed=0):
        out = []
        for conv in convs:
            text = conv[-1]["value"]
            if json_schema is not None:
                out.append(dumps(self.answers[text]))
            else:
                ir = json.loads(text)
                out.append(f"public class {ir['class_name']} : UnityEngine.MonoBehaviour {{ }}\n"
                           if ir["class_name"] in self.empty else generate(ir))
        return out


def _wrong_axis(ir):
    bad = copy.deepcopy(ir)
    bad["behaviours"][0]["actions"][0]["axis"] = "x"
    return bad


@pytest.mark.parametrize("with_behaviour", [False, True])
def test_handwritten_and_heldout_metrics(with_behaviour):
    if with_behaviour and (shutil.which("mcs") is None or shutil.which("mono") is None):
        pytest.skip("needs mono and mcs")
    hand = load_handwritten()
    coin, fan, bell, boom = (next(e for e in hand if e["sentence"].startswith(s))
                             for s in ("a coin that spins", "rotate the fan", "Bell:", "When R is pressed"))
    bell_custom = copy.deepcopy(bell["ir"])  # the "collapses": valid, but custom
    bell_custom["behaviours"][0]["actions"] = [{"op": "custom", "text": "collapses"}]
    bell_custom.pop("components")
    bell_custom.pop("fields")
    answers = {coin["sentence"]: coin["ir"], fan["sentence"]: _wrong_axis(fan["ir"]), bell["sentence"]: bell_custom,
               boom["sentence"]: boom["ir"]}
    held = [{"prompt": "script for a coin: spin around y at 90 deg/s", "families": ["script_for", "rotate.spin"],
             "ir": coin["ir"]}]
    answers[held[0]["prompt"]] = coin["ir"]
    fresh = load_handwritten(fresh_path())[:2]  # the second set is scored on its own: one right, one wrong
    answers[fresh[0]["sentence"]] = fresh[0]["ir"]
    answers[fresh[1]["sentence"]] = bell_custom
    checker = find_compiler("auto" if with_behaviour else "syntax")
    behaviour = None
    if with_behaviour:
        from almost_irgen.unitysim import BehaviourChecker

        behaviour = BehaviourChecker(checker)
    details: list[dict] = []
    try:
        m = sentence_metrics(Scripted(answers, empty=(boom["ir"]["class_name"],)), checker, behaviour,
                             handwritten=[coin, fan, bell, boom], heldout=held, ir_tokens=64, max_new_tokens=64,
                             details=details, fresh=fresh)
    finally:
        checker.close()
    assert m["ir_match_heldout_phrasing"] == 1.0
    assert m["ir_valid_handwritten"] == 1.0  # all four valid ...
    assert m["ir_match_handwritten"] == 0.5  # ... two right: a wrong axis and a custom op are not
    assert m["ir_match_handwritten_fresh"] == 0.5 and m["ir_valid_handwritten_fresh"] == 1.0
    assert [d["kind"] for d in details].count("handwritten_fresh") == 2
    by = {d["sentence"]: d for d in details}
    assert by[fan["sentence"]]["mismatches"] == ["rotate around x, not z"]
    assert by[bell["sentence"]]["mismatches"] == ["custom instead of play_sound"]
    assert "verdict" not in by[fan["sentence"]]  # no script for a wrong IR: it cannot count
    if with_behaviour:  # the empty class compiles but does not explode: end to end only the coin
        assert m["behaviour_at_1_handwritten"] == 0.25 and m["compile_at_1_handwritten"] == 0.5
        assert by[boom["sentence"]]["verdict"] == "misbehaves"
    else:
        assert "behaviour_at_1_handwritten" not in m


def test_ir_match_from_text_uses_the_answers_evaluate_has():
    coin = load_handwritten()[0]
    evals = [{"prompt": "CoinSpinner: spin around y at 90 deg/s", "families": ["class_colon"]},
             {"prompt": "a coin that spins around y at 90 deg/s", "families": ["noun"]}, {"prompt": ""}]
    renamed = {**coin["ir"], "class_name": "Coin"}
    details = [{"ir_from_text": renamed}, {"ir_from_text": renamed}, {}]
    m = ir_match_from_text(evals, [coin["ir"]] * 3, details)
    assert m == {"ir_match_from_text": 0.5}  # the class name counts only where the sentence gave it
    assert details[0]["ir_from_text_mismatches"] == ["class Coin, not CoinSpinner"]
