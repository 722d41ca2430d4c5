"""History, metrics and weights identical across a resume, for the trainers whose running values
live outside accelerate's state (issue 27): ddpo ``pretrain`` (its loss average and its data
generator are part of the checkpoint). irgen ``train``'s ``loss_ema`` is covered in
``packages/irgen/tests/test_irgen_train.py``; gamengen ``train``, ddpo ``policy`` and irgen
``train`` under kill -9 in ``test_kill9.py`` (weights, history and metrics).
"""

from __future__ import annotations

import json
import shutil

import pytest

from almost.observe.history import read_history
from almost.testing import run_cli

pytestmark = pytest.mark.slow

PRETRAIN = ["pretrain.vae_steps=2", "pretrain.unet_steps=8", "pretrain.checkpoint_every=5", "pretrain.dataset_size=32",
            "pretrain.vae_batch_size=4", "pretrain.batch_size=2", "pretrain.image_size=16"]


def _run(out):
    args = ["run", "--plugin", "ddpo", "pretrain", "--out", str(out)]
    for s in PRETRAIN:
        args += ["--set", s]
    code, stdout, err = run_cli(args)
    assert code == 0, (stdout + err)[-3000:]
    return stdout


def _untimed(history):
    return [{k: v for k, v in r.items() if k != "time"} for r in history if "media" not in r]


def test_ddpo_pretrain_resumed_logs_and_learns_what_an_uninterrupted_run_does(tmp_path):
    from safetensors.torch import load_file

    _run(tmp_path)  # 8 steps; a checkpoint at 5
    sdir = tmp_path / "round-001" / "pretrain"
    straight = _untimed(read_history(sdir))
    metrics = json.loads((tmp_path / "metrics.json").read_text())["pretrain"]
    weights = {f.name: load_file(str(f)) for f in sorted((sdir / "model").rglob("*.safetensors"))}
    assert (sdir / "checkpoints" / "step-00000005").is_dir()
    # as if killed after the checkpoint at 5: its output gone, the stage interrupted
    shutil.rmtree(sdir / "model")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["stages"]["pretrain"]["status"] = "interrupted"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    out = _run(tmp_path)
    assert "resum" in out
    assert _untimed(read_history(sdir)) == straight
    assert json.loads((tmp_path / "metrics.json").read_text())["pretrain"] == metrics
    again = {f.name: load_file(str(f)) for f in sorted((sdir / "model").rglob("*.safetensors"))}
    assert again.keys() == weights.keys()
    assert all((again[n][k] == weights[n][k]).all() for n in weights for k in weights[n])
