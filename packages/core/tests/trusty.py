"""Helpers of the tests that run ``trust_plugin.py``'s ``trainy`` pipeline (issues 10 and 27)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from almost.errors import InterruptedRun
from almost.runs import run_pipeline

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import trust_plugin  # noqa: E402

__all__ = ["trust_plugin"]


def _run(app, out, *stages, **kw):
    return run_pipeline(app.pipeline("trainy"), app.registry, stages=stages, out=out, **kw)


def _interrupt(app, out, monkeypatch, at=6, sets=("steps=8",)):
    monkeypatch.setenv("TRAINY_STOP_AT", str(at))
    with pytest.raises(InterruptedRun):
        _run(app, out, sets=list(sets))
    monkeypatch.delenv("TRAINY_STOP_AT")


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _status(out: Path) -> dict:
    return {k: v["status"] for k, v in _manifest(out)["stages"].items()}


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(out / "train" / "weights.safetensors"))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def _strict(path: Path):
    def bad(c):
        raise ValueError(f"{path} holds {c}")

    return json.loads(path.read_text(), parse_constant=bad)


def _env(env=None) -> dict:
    return {**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", **(env or {})}


def _popen(*args, env=None, **kw):
    """``python trust_plugin.py ARGS`` (= ``almost ARGS`` with trainy installed), started."""
    return subprocess.Popen([sys.executable, str(HERE / "trust_plugin.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(env), **kw)


def _script(*args, env=None):
    """``python trust_plugin.py ARGS``, run to its end."""
    return subprocess.run([sys.executable, str(HERE / "trust_plugin.py"), *args], capture_output=True, text=True,
                          env=_env(env), timeout=300)


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x55  # same size, other content (inside the last tensor's data)
    path.write_bytes(bytes(data))


def _poison(ckpt: Path) -> None:
    """A checkpoint whose weights are finite but absurd (as from flipped bits in memory), with
    matching checksums: only training from it shows the damage (NaN)."""
    import torch
    from safetensors.torch import load_file, save_file

    from almost.train.checkpoint import file_sha256

    f = ckpt / "model.safetensors"
    t = load_file(str(f))
    save_file({k: torch.full_like(v, 3e37) for k, v in t.items()}, str(f))
    state = json.loads((ckpt / "almost_state.json").read_text())
    state["almost_files"]["model.safetensors"] = {"bytes": f.stat().st_size, "sha256": file_sha256(f)}
    (ckpt / "almost_state.json").write_text(json.dumps(state))


# a process that logs metrics and artifacts as a stage would, to race another one
_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import trust_plugin
from almost.runs import RunContext
app = trust_plugin.app()
ctx = RunContext(pipeline=app.pipeline("trainy"), config=None, run_dir=Path(sys.argv[1]), profile="tiny",
                 registry=app.registry, stage_name="train")
for i in range(int(sys.argv[4])):
    ctx.log_metrics(**{f"{sys.argv[2]}{i}": i})
    ctx.add_artifact(Path(sys.argv[1]) / f"{sys.argv[2]}{i}.bin")
"""
