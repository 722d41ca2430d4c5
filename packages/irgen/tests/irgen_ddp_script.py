"""Run by test_train.py under ``python -m torch.distributed.run --nproc_per_node 2``: the irgen
``train`` stage on two CPU processes (gloo), on a run whose synth and prepare stages are done."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from almost.plugins import load
from almost.runs import run_pipeline

if __name__ == "__main__":
    torch.set_num_threads(1)
    out, sets = Path(sys.argv[1]), sys.argv[2:]
    app = load()
    metrics = run_pipeline(app.pipeline("irgen"), app.registry, stages=["train"], sets=sets, out=out)
    rank = int(os.environ.get("RANK", "0"))
    (out.parent / f"rank{rank}.json").write_text(json.dumps({"metrics": metrics.get("train", {}) if metrics else {}}))
