"""The train stage under a two-process launch (gloo on the CPU): each rank gets half the rows, the
adapters stay in sync, and only the main process writes checkpoints, the adapter and the records."""

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
def test_two_process_train_shards_data_and_writes_once(tmp_path, tiny_model_dir):
    from almost.testing import run_cli
    from almost.train.checkpoint import load_safetensors

    sets = [f"model.base={tiny_model_dir}", "synth.count=40", "train.eval_every=2", "train.batch_tokens=512",
            "train.lr=0.01", "train.patience=0", "train.epochs=1"]
    one, two = tmp_path / "one" / "run", tmp_path / "two" / "run"
    for run in (one, two):
        code, out, err = run_cli(["run", "--plugin", "irgen", "synth", "prepare", "--out", str(run),
                                  *[x for s in sets for x in ("--set", s)]])
        assert code == 0, out + err
    code, out, err = run_cli(["run", "--plugin", "irgen", "train", "--out", str(one),
                              *[x for s in sets for x in ("--set", s)]])
    assert code == 0, out + err
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(free_port()), str(HERE / "irgen_ddp_script.py"), str(two), *sets]
    env = {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(launcher, capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    assert (two.parent / "rank0.json").is_file() and (two.parent / "rank1.json").is_file()  # both ranks finished
    solo = json.loads((one / "metrics.json").read_text())["train"]
    duo = json.loads((two / "metrics.json").read_text())["train"]
    # one epoch over half the rows each: half the optimizer steps (rounded up), same example count
    assert duo["steps"] == -(-solo["steps"] // 2) or duo["steps"] == solo["steps"] // 2
    assert duo["steps"] < solo["steps"] and duo["train_examples"] == solo["train_examples"]
    manifest = json.loads((two / "manifest.json").read_text())
    assert manifest["stages"]["train"]["status"] == "done"
    assert (two / "train" / "adapter" / "adapter_model.safetensors").is_file()
    ck = sorted((two / "train" / "checkpoints").glob("step-*"))
    assert ck and not list((two / "train" / "checkpoints").glob(".step-*"))  # no half-written step left
    w = load_safetensors(ck[-1] / "adapter.safetensors")
    assert any(float(v.abs().max()) > 0 for k, v in w.items() if "lora_B" in k)
