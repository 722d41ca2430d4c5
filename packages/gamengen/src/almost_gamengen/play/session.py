"""What the play server drives: a *session* that turns actions into frames.

Two kinds share one small interface, so the page can switch between them:

* :class:`EnvSession` wraps any registered Environment (the real game, or the world-model
  environment :class:`almost_gamengen.play.worldmodel_env.WorldModelEnv`);
* options (``steps``, ``noise_level``) are forwarded to environments that accept them via
  ``set_options`` — the world model does, a real game has none; :meth:`EnvSession.option_bounds`
  gives their ranges (steps 1..50, noise from 0 to the highest level the model was trained on).

:func:`size_threads` sizes torch's CPU threads to the cores the process really gets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_STEPS = 50
"""Most denoising steps a play connection may ask for (more makes the page unplayable)."""


class EnvSession:
    """Drive an Environment frame by frame; resets by itself when an episode ends."""

    def __init__(self, name: str, env: Any, seed: int = 0) -> None:
        self.name = name
        self.env = env
        self.action_names = list(env.action_names)
        self.noop_action = int(env.noop_action)
        self.seed = seed
        self.frame: np.ndarray | None = None

    def options(self) -> dict[str, Any]:
        get = getattr(self.env, "get_options", None)
        return dict(get()) if get else {}

    def option_bounds(self) -> dict[str, tuple[float, float]]:
        """The range of each option a connection may set: steps 1..50, noise within training's."""
        opts = self.options()
        bounds: dict[str, tuple[float, float]] = {}
        if "steps" in opts:
            bounds["steps"] = (1, MAX_STEPS)
        if "noise_level" in opts:
            top = getattr(getattr(self.env, "model", None), "noise_max", None)
            bounds["noise_level"] = (0.0, float(top) if top is not None else 0.0)
        return bounds

    def set_options(self, **options: Any) -> dict[str, Any]:
        setter = getattr(self.env, "set_options", None)
        if setter is None:
            return {}
        setter(**options)
        return self.options()

    def reset(self) -> np.ndarray:
        self.seed += 1
        self.frame, _ = self.env.reset(seed=self.seed)
        return self.frame

    def step(self, action: int) -> np.ndarray:
        if self.frame is None:
            return self.reset()
        frame, _, terminated, truncated, _ = self.env.step(int(action))
        self.frame = frame
        if terminated or truncated:
            return self.reset()
        return frame

    def close(self) -> None:
        self.env.close()


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask capped by a cgroup quota, not the
    machine's count): :func:`almost.train.threads.available_cores`."""
    from almost.train.threads import available_cores

    return available_cores()


def size_threads(device: Any = "cpu") -> int:
    """Set torch's intra-op threads for play on ``device``; returns the number chosen.

    ``OMP_NUM_THREADS`` wins when set; otherwise the cores in this process's affinity mask
    that other programs leave idle (:func:`almost.train.threads.idle_cores`; at most 8), not the
    machine's count. Measured 2026-12-07 on a 2-core machine at load 5.5 with the tiny world
    model at 2 DDIM steps: 2 threads 0.51 FPS, 1 thread 16.1 FPS (benchmarks/bench_play.py):
    threads beyond the idle cores wait on descheduled peers.
    """
    import os

    import torch

    from almost.train import threads

    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    n = int(env) if env.isdigit() and int(env) > 0 else min(8, cpu_cores(), threads.idle_cores())
    if torch.device(device).type != "cpu":
        n = min(n, 2)  # the accelerator does the work; the CPU only feeds it
    torch.set_num_threads(n)
    return n


def play_device(name: str | None = None):
    """The torch device to play on: ``name`` (checked), or cuda when there is one, else cpu."""
    import torch

    from almost.errors import UserError

    if name is None or name == "":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise UserError(f"--device {name!r} is not a torch device; use cpu, cuda, cuda:1 or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name} asks for CUDA, but torch sees no CUDA GPU here; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError(f"--device {name}: there are only {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {name} asks for Apple's MPS, which torch cannot use here; use --device cpu")
    return dev
