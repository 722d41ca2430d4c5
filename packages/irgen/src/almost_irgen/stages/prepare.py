"""Stage ``prepare``: ShareGPT JSONL, deduplicated, split 85/15 by a fixed seed.

Reads ``synth/triplets.jsonl``; writes ``prepare/train.jsonl`` and ``prepare/eval.jsonl``
(``{"id", "prompt", "conversations": [system, human (IR JSON), gpt (C#)]}``). With
``prepare.text_to_ir`` (default) the training side also gets the sentence → IR task of each
triplet that has a prompt (``"task": "text2ir"``, human = the sentence, gpt = the IR JSON). Exact
duplicates are dropped, and records sharing a prompt or a synth ``group`` (a spec and its
minimal pair) stay on one side of the split.
"""

from __future__ import annotations

import json

from almost import RunContext
from almost.errors import UserError
from almost.io import atomic_write

from ..ir import IRError, validate
from ..sharegpt import dedup, jsonl, read_jsonl, record, split, turn


def run(ctx: RunContext) -> None:
    cfg = ctx.config.prepare
    src = ctx.find_stage_dir("synth") / "triplets.jsonl"
    rows = [r for r in read_jsonl(src, "triplets file") if "code" in r]
    records = []
    for n, r in enumerate(rows):
        try:
            records.append(record(validate(r["ir"], f"{src} line {n + 1}"), r["code"], r.get("prompt", ""),
                                  r.get("group")))
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

        text_tasks = dedup(text_record(r["prompt"], validate(json.loads(turn(r, "human"))))
                           for r in train if r.get("prompt"))
    out = ctx.stage_dir()
    atomic_write(out / "train.jsonl", jsonl(train + text_tasks * cfg.text_to_ir_repeats))
    atomic_write(out / "eval.jsonl", jsonl(evals))
    ctx.add_artifact(out / "train.jsonl", "train set")
    ctx.log_metrics(records=len(records), duplicates=len(records) - len(unique), train=len(train), eval=len(evals),
                    text_to_ir_train=len(text_tasks) * cfg.text_to_ir_repeats)
