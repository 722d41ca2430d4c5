"""Stage ``prepare``: ShareGPT JSONL, deduplicated, split 85/15 by a fixed seed.

Reads ``synth/triplets.jsonl``; writes ``prepare/train.jsonl`` and ``prepare/eval.jsonl``
(``{"id", "prompt", "conversations": [system, human (IR JSON), gpt (C#)]}``). With
``prepare.text_to_ir`` (default) the training side also gets the sentence → IR task of each
triplet that has a prompt (``"task": "text2ir"``, human = the sentence, gpt = the IR JSON). Exact
duplicates are dropped, and records sharing a prompt or a synth ``group`` (a spec and its
minimal pair) stay on one side of the split. A triplet whose request used a held-out phrasing
family (:data:`almost_irgen.phrasing.HELDOUT`) is dropped (``heldout_phrasing_dropped``), and
synth's held-out phrasing requests go to ``prepare/heldout_phrasing.jsonl`` only, never to training.
With ``prepare.repair_fraction`` the training side also gets that many repair conversations per
IR → C# training record (``"task": "repair"``, :mod:`almost_irgen.repairdata`), built from
training specs only: a broken program, the errors of the checker ``evaluate.compiler`` names (and
the behaviour check with mono) as the generator's repair turn words them, the fixed program.
"""

from __future__ import annotations

import json

from almost import RunContext
from almost.errors import UserError
from almost.io import atomic_write
from almost.observe.console import console

from ..generator import FAILS, MISBEHAVES
from ..ir import IRError, validate
from ..phrasing import HELDOUT
from ..sharegpt import dedup, jsonl, read_jsonl, record, split, turn


def run(ctx: RunContext) -> None:
    cfg = ctx.config.prepare
    src = ctx.find_stage_dir("synth") / "triplets.jsonl"
    rows = [r for r in read_jsonl(src, "triplets file") if "code" in r]
    # a request in a held-out phrasing family is never trained on, whatever wrote it into the triplets
    kept = [r for r in rows if not HELDOUT.intersection(r.get("families") or ())]
    dropped, rows = len(rows) - len(kept), kept
    records = []
    for n, r in enumerate(rows):
        try:
            rec = record(validate(r["ir"], f"{src} line {n + 1}"), r["code"], r.get("prompt", ""), r.get("group"))
            if r.get("families"):
                rec["families"] = list(r["families"])
            paraphrases = [p for p in r.get("paraphrases") or () if isinstance(p, dict) and isinstance(p.get("prompt"), str)
                           and not HELDOUT.intersection(p.get("families") or ())]
            if paraphrases:
                rec["paraphrases"] = [p["prompt"] for p in paraphrases]
            records.append(rec)
        except (KeyError, TypeError):
            raise UserError(f"{src} line {n + 1} needs 'ir' and 'code'; re-run synth with --force") from None
        except IRError:
            raise
    unique = dedup(records)
    train, evals = split(unique, cfg.eval_fraction, cfg.seed)
    if not train or not evals:
        raise UserError(f"{len(unique)} unique examples are too few for a train/eval split; raise synth.count")
    text_tasks = []
    if cfg.text_to_ir:  # both tasks from the triplets: sentence → IR too (train side only; eval keeps its prompts)
        from ..text2ir import text_record

        text_tasks = dedup(text_record(p, validate(json.loads(turn(r, "human"))))
                           for r in train for p in [r.get("prompt"), *r.get("paraphrases", ())] if p)
    for r in unique:
        r.pop("paraphrases", None)  # used for the sentence → IR records above
    # a conversation over ~2.4 characters a token of train.max_length would be dropped by train: not made
    repairs = repair_tasks(train, cfg.repair_fraction, cfg.seed, int(2.4 * ctx.config.train.max_length),
                           ctx.config.evaluate.compiler)
    out = ctx.stage_dir()
    trained = train + text_tasks * cfg.text_to_ir_repeats + repairs
    atomic_write(out / "train.jsonl", jsonl(trained))
    atomic_write(out / "eval.jsonl", jsonl(evals))
    held = heldout_rows(ctx.find_stage_dir("synth") / "heldout_phrasing.jsonl", trained)
    atomic_write(out / "heldout_phrasing.jsonl", jsonl(held))
    ctx.add_artifact(out / "train.jsonl", "train set")
    ctx.log_metrics(records=len(records), duplicates=len(records) - len(unique), train=len(train), eval=len(evals),
                    text_to_ir_train=len(text_tasks) * cfg.text_to_ir_repeats, heldout_phrasing=len(held),
                    heldout_phrasing_dropped=dropped, repair_train=len(repairs),
                    repair_not_compiling=sum(r["verdict"] == FAILS for r in repairs),
                    repair_misbehaving=sum(r["verdict"] == MISBEHAVES for r in repairs))


def repair_tasks(train: list[dict], fraction: float, seed: int, max_chars: int, compiler: str) -> list[dict]:
    """``fraction`` × as many repair conversations as ``train`` has IR → C# records, from those
    records (never the eval side), each mutant judged by the checks the generator runs with
    ``compiler`` (mcs, and the simulated Unity with mono)."""
    irs = [validate(json.loads(turn(r, "human"))) for r in train if r.get("task", "ir2code") == "ir2code"]
    count = round(fraction * len(irs))
    if not count:
        return []
    from ..csharp import find_compiler
    from ..generator import Generator
    from ..repairdata import repair_records

    gen = Generator(None, checker=find_compiler(compiler), constrained=False)  # the generate path's checks
    try:
        made = repair_records(irs, count, seed, gen, max_chars)
    finally:
        gen.close()
    if len(made) < count:
        console.print(f"[yellow]prepare made {len(made)} of the {count} repair conversations prepare.repair_fraction asks "
                      f"({'mcs' if gen.checker.compiles else 'the syntax check'} rejected no more mutants)[/]")
    return made


def heldout_rows(path, trained: list[dict]) -> list[dict]:
    """synth's held-out phrasing requests (none when synth wrote no such file), validated, each
    in a held-out family, and none whose sentence is also a training sentence."""
    if not path.is_file():
        return []
    seen = {r.get("prompt", "") for r in trained} | {turn(r, "human") for r in trained}
    out = []
    for n, r in enumerate(read_jsonl(path, "held-out phrasing file"), 1):
        if not isinstance(r, dict) or not isinstance(r.get("prompt"), str) or "ir" not in r:
            raise UserError(f"{path} line {n} needs 'prompt' and 'ir'; re-run synth with --force")
        validate(r["ir"], f"{path} line {n}")
        if HELDOUT.intersection(r.get("families") or ()) and r["prompt"] not in seen:
            out.append(r)
    return out
