"""One code path under a multi-process launch: two CPU processes train with DDP, checkpoint, and
only the main process writes the run's records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from almost.testing import free_port

HERE = Path(__file__).parent


@pytest.mark.slow
def test_two_process_run_syncs_weights_and_writes_records_once(tmp_path: Path):
    # `accelerate launch --multi_gpu` starts its processes with torch.distributed.run; on a
    # machine without GPUs it falls back to one process, so the test calls the same launcher
    # directly. Accelerate then picks gloo on the CPU (its MULTI_CPU mode).
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
                str(HERE / "ddp_script.py"), str(tmp_path)]
    env = {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(launcher, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert ranks[0]["world"] == 2
    assert ranks[0]["weight"] == ranks[1]["weight"]  # DDP kept the replicas identical
    assert ranks[0]["checkpoints"] == 3
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["stages"]["train"]["status"] == "done"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"train": {"steps": 3.0}}
    # resume: a second launch finds the run finished and every checkpoint still there
    r = subprocess.run(launcher, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(list((tmp_path / "run" / "train" / "ckpt").glob("step-*"))) == 3
