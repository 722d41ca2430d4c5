"""Shared fixtures for the gamengen tests: a frame-counting toy game, ViZDoom envs, CLI runs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest


class CounterEnv(gym.Env):
    """A game whose frame shows the step count (red) and the last action taken (green).

    So ``frame[t+1]`` reveals which action led to it: the alignment tests read it back.
    """

    action_names = ("NOOP", "LEFT", "RIGHT", "FIRE")
    noop_action = 0

    def __init__(self, length: int = 7, height: int = 8, width: int = 12):
        self.length = length
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.t, self.last = 0, 0

    def _frame(self):
        f = np.zeros(self.observation_space.shape, np.uint8)
        f[..., 0] = self.t
        f[..., 1] = 50 * self.last
        f[..., 2] = 200
        return f

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.last = 0, 0
        return self._frame(), {}

    def step(self, action):
        self.t += 1
        self.last = int(action)
        return self._frame(), float(self.t), self.t >= self.length, False, {}


@pytest.fixture
def counter_env():
    env = CounterEnv()
    try:
        yield env
    finally:
        env.close()


@pytest.fixture
def app():
    from almost.testing import load_app

    return load_app()


@pytest.fixture
def vizdoom_basic(app):
    env = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=30)
    try:
        yield env
    finally:
        env.close()


@pytest.fixture
def run_gamengen():
    """``run_gamengen(out, *stages, sets=[...])`` runs ``almost run --plugin gamengen``."""
    from almost.testing import run_cli

    def run(out, *stages, sets=(), force=False):
        args = ["run", "--plugin", "gamengen", *stages, "--out", str(out)]
        for s in sets:
            args += ["--set", s]
        if force:
            args.append("--force")
        return run_cli(args)

    return run
