"""Run stages of a pipeline in two processes (``torch.distributed.run --nproc_per_node 2``, gloo
on the CPU), to compare a stage's two-process output with one process's::

    from almost.testing import two_process_command

    r = subprocess.run(two_process_command("mine", out, ["generate"], sets), ...)

Each rank leaves ``OUT/../rankN.done`` when its run returned. As a script:
``two_process.py PLUGIN OUT STAGE[,STAGE...] [KEY=VALUE ...]``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path


def two_process_command(plugin: str, out: str | os.PathLike, stages: Sequence[str] | str,
                        sets: Sequence[str] = ()) -> list[str]:
    """The command line that runs ``stages`` of ``plugin`` into ``out`` under a two-process launch
    (each process with one torch thread, on a free rendezvous port)."""
    from .web import free_port

    stages = stages if isinstance(stages, str) else ",".join(stages)
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
            str(free_port()), __file__, plugin, str(out), stages, *sets]


def _main(argv: Sequence[str]) -> None:
    import torch

    from almost.plugins import load
    from almost.runs import run_pipeline

    torch.set_num_threads(1)
    plugin, out, stages, sets = argv[0], Path(argv[1]), argv[2].split(","), list(argv[3:])
    app = load()
    run_pipeline(app.pipeline(plugin), app.registry, stages=stages, sets=sets, out=out)
    (out.parent / f"rank{os.environ.get('RANK', '0')}.done").write_text("ok")


if __name__ == "__main__":
    _main(sys.argv[1:])
