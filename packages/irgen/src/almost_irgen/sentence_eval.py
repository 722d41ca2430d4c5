"""The sentence metrics ``evaluate`` adds: semantic IR match on three kinds of request, and end to end.

* ``ir_match_from_text`` — the held-out specs' own sentences (training phrasing families,
  unseen specs), scored from the answers ``evaluate`` already has;
* ``ir_match_heldout_phrasing`` — fresh specs requested in the held-out phrasing families only
  (``prepare/heldout_phrasing.jsonl``), which no training sentence uses;
* ``ir_match_handwritten`` — the shipped hand-written sentences
  (``data/handwritten_sentences.jsonl``), and ``behaviour_at_1_handwritten``: the right IR *and*
  a script (greedy, no repair) that behaves in the simulated Unity (``compile_at_1_handwritten``:
  the right IR and a script that compiles). ``ir_valid_handwritten`` is the share with any valid
  IR, to show how far validity is from a match.

A match is :func:`almost_irgen.irmatch.mismatches` being empty: trigger, condition, ops,
axis/direction, key, tag and values; the class name only where the sentence gives it
(the ``legacy`` and ``class_colon`` frames, or ``class_name_given`` in the hand-written file),
field names only where the sentence says them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .irmatch import entry_mismatches, mismatches, named_fields

CLASS_FRAMES = ("legacy", "class_colon")  # the phrasing frames that say the class name


def generated_mismatches(pred, prompt: str, ir: dict, families: Sequence[str] = ()) -> list[str]:
    """:func:`~almost_irgen.irmatch.mismatches` for a generated request: the class name counts when its
    frame says it (no families recorded: the old template, which always did), field names when the
    sentence says them."""
    given = not families or any(f in CLASS_FRAMES for f in families)
    return mismatches(pred, ir, class_name=given, names=named_fields(prompt, ir))


def ir_match_from_text(evals: Sequence[dict], irs: Sequence[dict], details: Sequence[dict]) -> dict[str, float]:
    """Semantic match of the sentence → IR answers ``evaluate`` made for its held-out specs
    (``details[i]["ir_from_text"]``); records each verdict in ``details[i]``."""
    scored = [(r, ir, d) for r, ir, d in zip(evals, irs, details) if r.get("prompt") and "ir_from_text" in d]
    for r, ir, d in scored:
        d["ir_from_text_mismatches"] = generated_mismatches(d["ir_from_text"], r["prompt"], ir, r.get("families", ()))
    if not scored:
        return {}
    return {"ir_match_from_text": sum(not d["ir_from_text_mismatches"] for _, _, d in scored) / len(scored)}


def sentence_metrics(backend, checker, behaviour, *, handwritten: Sequence[dict], heldout: Sequence[dict],
                     ir_tokens: int, max_new_tokens: int, details: list[dict] | None = None,
                     fresh: Sequence[dict] = ()) -> dict[str, float]:
    """Sentence → IR (greedy, schema-constrained, no repair) for the held-out phrasing requests and
    the hand-written sentences (``handwritten``, and ``fresh``: the set written after the phrasing
    families, by someone who had not read them; metrics ``*_handwritten_fresh``), in one batch;
    then IR → C# for each hand-written sentence whose IR matched. ``details`` gets one dict per
    sentence (kind, sentence, IR, mismatches, verdict)."""
    from .generator import Generator

    gen = Generator(backend, checker=checker, behaviour=behaviour, repair_rounds=0, max_new_tokens=max_new_tokens,
                    ir_tokens=ir_tokens)
    hands = {"handwritten": list(handwritten), "handwritten_fresh": list(fresh)}
    sentences = [r["prompt"] for r in heldout] + [e["sentence"] for k in hands for e in hands[k]]
    if not sentences:
        return {}
    t0 = time.time()
    got = iter(gen.text_to_ir(sentences))
    rows: list[dict] = []
    for r, res in zip(heldout, got):
        rows.append({"kind": "heldout_phrasing", "sentence": r["prompt"], "families": r.get("families", []),
                     "ir": res.ir, "ir_problems": res.ir_problems,
                     "mismatches": generated_mismatches(res.ir, r["prompt"], r["ir"], r.get("families", ()))})
    for kind, entries in hands.items():
        for e, res in zip(entries, got):
            rows.append({"kind": kind, "sentence": e["sentence"], "ir": res.ir, "ir_problems": res.ir_problems,
                         "mismatches": entry_mismatches(res.ir, e)})
    out: dict[str, float] = {"sentences_to_ir_s": time.time() - t0}
    held = [d for d in rows if d["kind"] == "heldout_phrasing"]
    if held:
        out["ir_match_heldout_phrasing"] = sum(not d["mismatches"] for d in held) / len(held)
    t0 = time.time()
    for kind in hands:
        out.update(_end_to_end(gen, [d for d in rows if d["kind"] == kind], kind, behaviour is not None))
    if any(hands.values()):
        out["handwritten_code_s"] = time.time() - t0
    if details is not None:
        details[:] = rows
    return out


def _end_to_end(gen, hand: list[dict], kind: str, behaviour: bool) -> dict[str, float]:
    """``ir_match_<kind>``, ``ir_valid_<kind>``, and for each matched IR a greedy script:
    ``compile_at_1_<kind>`` and ``behaviour_at_1_<kind>`` (the right IR *and* a script that behaves)."""
    from .generator import BEHAVES, Result

    if not hand:
        return {}
    out = {f"ir_match_{kind}": sum(not d["mismatches"] for d in hand) / len(hand),
           f"ir_valid_{kind}": sum(d["ir"] is not None for d in hand) / len(hand)}
    matched = [d for d in hand if not d["mismatches"]]
    coded = gen.ir_to_code([Result(d["sentence"], d["ir"]) for d in matched], rounds=0)
    for d, res in zip(matched, coded):
        d["verdict"], d["code"] = res.verdict, res.code
        d["errors"] = res.best.errors[:4] if res.best is not None else []
    if behaviour:  # end to end: the right IR and a script that behaves
        out[f"behaviour_at_1_{kind}"] = sum(d.get("verdict") == BEHAVES for d in hand) / len(hand)
    out[f"compile_at_1_{kind}"] = sum(d.get("verdict") in ("behaves", "compiles", "misbehaves") for d in hand) / len(hand)
    return out
