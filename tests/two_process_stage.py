"""Run stages of a pipeline under ``python -m torch.distributed.run --nproc_per_node 2`` (gloo on the
CPU): ``two_process_stage.py PLUGIN OUT STAGE[,STAGE...] [KEY=VALUE ...]``. Each rank leaves
``OUT/../rankN.done`` when its run returned. Used by the tests that compare a stage's two-process
output with one process's (ddpo generate, gamengen rollout, irgen evaluate)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from almost.pipeline import run_pipeline
from almost.plugins import load


def launcher(script_args: list[str]) -> list[str]:
    from almost.testing import free_port

    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
            str(free_port()), __file__, *script_args]


if __name__ == "__main__":
    torch.set_num_threads(1)
    plugin, out, stages, sets = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4:]
    app = load()
    run_pipeline(app.pipeline(plugin), app.registry, stages=stages, sets=sets, out=out)
    (out.parent / f"rank{os.environ.get('RANK', '0')}.done").write_text("ok")
