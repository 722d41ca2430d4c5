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


@pytest.fixture(scope="session")
def tiny_world_model_run(tmp_path_factory):
    """A finished-enough gamengen run: synthetic episodes, latents and a (2-step) world model.

    Small on purpose (context 2, 16-channel UNet, 40×40 frames): seconds on a CPU."""
    import attrs

    from almost import Pipeline
    from almost import config as cfgmod
    from almost.io import atomic_write
    from almost.runs import RunContext
    from almost_gamengen.config import tiny
    from almost_gamengen.data.synthetic import write_synthetic
    from almost_gamengen.stages import encode, train

    run = tmp_path_factory.mktemp("wm-run")
    write_synthetic(run / "collect" / "episodes", episodes=4, length=12, height=40, width=40)
    cfg = tiny()
    cfg = attrs.evolve(
        cfg,
        env=attrs.evolve(cfg.env, height=40, width=40),
        encode=attrs.evolve(cfg.encode, vae_fit_steps=2, vae_fit_batch_size=4),
        model=attrs.evolve(cfg.model, context=2, block_out_channels=[16, 16], action_dim=16),
        train=attrs.evolve(cfg.train, steps=2, batch_size=2, checkpoint_every=2, warmup_steps=1),
    )
    atomic_write(run / "config.toml", cfgmod.to_toml(cfg, {"pipeline": "gamengen", "profile": "tiny"}))
    pipe = Pipeline(name="gamengen", stages=[], profiles={})
    for stage in (encode, train):
        name = stage.__name__.rsplit(".", 1)[-1]
        stage.run(RunContext(pipeline=pipe, config=cfg, run_dir=run, profile="tiny", registry=None,
                             stage_name=name))
    return run
