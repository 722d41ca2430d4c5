"""Stage ``prepare``: ShareGPT JSONL, deduplicated, split 85/15 by a fixed seed.

Reads ``synth/triplets.jsonl``; writes ``prepare/train.jsonl`` and ``prepare/eval.jsonl``
(``{"id", "prompt", "conversations": [system, human (IR JSON), gpt (C#)]}``). Exact
duplicates are dropped, and records sharing a prompt stay on one side of the split.
"""

from __future__ import annotations

from almost import RunContext
from almost.errors import UserError
from almost.io import atomic_write

from ..ir import IRError, validate
from ..sharegpt import dedup, jsonl, read_jsonl, record, split


def run(ctx: RunContext) -> None:
    cfg = ctx.config.prepare
    src = ctx.find_stage_dir("synth") / "triplets.jsonl"
    rows = [r for r in read_jsonl(src, "triplets file") if "code" in r]
    records = []
    for n, r in enumerate(rows):
        try:
            records.append(record(validate(r["ir"], f"{src} line {n + 1}"), r["code"], r.get("prompt", "")))
        except (KeyError, TypeError):
            raise UserError(f"{src} line {n + 1} needs 'ir' and 'code'; re-run synth with --force") from None
        except IRError:
            raise
    unique = dedup(records)
    train, evals = split(unique, cfg.eval_fraction, cfg.seed)
    if not train or not evals:
        raise UserError(f"{len(unique)} unique examples are too few for a train/eval split; raise synth.count")
    out = ctx.stage_dir()
    atomic_write(out / "train.jsonl", jsonl(train))
    atomic_write(out / "eval.jsonl", jsonl(evals))
    ctx.add_artifact(out / "train.jsonl", "train set")
    ctx.log_metrics(records=len(records), duplicates=len(records) - len(unique), train=len(train), eval=len(evals))
