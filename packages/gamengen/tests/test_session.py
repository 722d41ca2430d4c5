""":mod:`almost_gamengen.play.session`: play's threads and device."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from almost_gamengen.play.server import Player
from almost_gamengen.play.session import size_threads


def test_play_threads_follow_omp_num_threads(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert size_threads("cpu") == 3 and torch.get_num_threads() == 3
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setattr("almost.train.threads.idle_cores", lambda: 64)
        monkeypatch.setattr("almost_gamengen.play.session.cpu_cores", lambda: 1)
        assert size_threads("cpu") == 1  # the cores it gets, not the machine's
        monkeypatch.setattr("almost_gamengen.play.session.cpu_cores", lambda: 64)
        assert size_threads("cpu") == 8
        monkeypatch.setattr("almost.train.threads.idle_cores", lambda: 1)  # the others keep all but one busy
        assert size_threads("cpu") == 1
    finally:
        torch.set_num_threads(before)


def _off_device(obj, dev) -> list[str]:
    """Names of the modules' parameters/buffers and the tensors of ``obj`` that are not on ``dev``."""
    import torch

    bad = []
    for name, value in vars(obj).items():
        if isinstance(value, torch.nn.Module):
            for pname, t in [*value.named_parameters(), *value.named_buffers()]:
                if t.device != dev:
                    bad.append(f"{name}.{pname} on {t.device}")
        elif isinstance(value, torch.Tensor) and value.device != dev:
            bad.append(f"{name} on {value.device}")
        elif isinstance(value, torch.Generator) and value.device != dev:
            bad.append(f"{name} (generator) on {value.device}")
    return bad


@pytest.mark.slow
def test_a_play_step_runs_on_an_explicit_device_object(tiny_world_model_run: Path, tmp_path: Path):
    import torch

    from almost_gamengen.play.session import play_device
    from almost_gamengen.plugin import play_sessions

    dev = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    assert play_device(str(dev)) == dev and play_device(None).type in ("cuda", "cpu")
    sessions = play_sessions(tiny_world_model_run, steps=2, game=False, device=dev)
    env = sessions["model"].env
    player = Player(sessions, tmp_path)
    first = player.next_frame()
    player.handle(json.dumps({"type": "options", "steps": 3}))
    frame = player.next_frame()
    assert frame.shape == first.shape and frame.dtype == np.uint8 and player.step == 1
    assert env.device == dev
    assert _off_device(env, dev) == [], "play left work off its device"
    assert _off_device(SimpleNamespace(t=torch.zeros(1)), torch.device("meta")) == ["t on cpu"]  # it can fail
    assert env.scheduler.timesteps.device.type == dev.type and len(env.scheduler.timesteps) == 3


def test_play_device_names_the_problem():
    from almost.errors import UserError
    from almost_gamengen.play.session import play_device

    with pytest.raises(UserError, match="not a torch device"):
        play_device("gpu0")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA"):
            play_device("cuda")
