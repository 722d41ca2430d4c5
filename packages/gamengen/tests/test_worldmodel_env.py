"""``env/worldmodel`` (:mod:`almost_gamengen.play.worldmodel_env`): a trained world model plays like
a game — for people (the page) and agents (SB3, and the agent stage inside it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from almost.testing import chromium_executable, load_app, run_cli


@pytest.mark.slow
def test_agent_trains_inside_a_world_model(tiny_world_model_run: Path, tmp_path: Path):
    """`--set env.name=worldmodel` on a finished run: PPO plays the model and episodes are recorded."""
    sets = {
        "env.name": "worldmodel",
        "env.options.run_dir": str(tiny_world_model_run),
        "env.options.steps": "1",
        "env.max_steps": "6",
        "agent.num_envs": "1",
        "agent.total_steps": "16",
        "agent.n_steps": "8",
        "agent.batch_size": "8",
        "agent.n_epochs": "1",
        "agent.eval_episodes": "0",
        "agent.shaping": "false",
    }
    args = ["run", "--plugin", "gamengen", "agent", "--out", str(tmp_path / "run")]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    code, out, err = run_cli(args)
    assert code == 0, (out + err)[-3000:]
    agent = tmp_path / "run" / "agent"
    assert (agent / "policy.zip").is_file()
    manifest = json.loads((agent / "episodes" / "manifest.json").read_text())
    assert manifest["env"] == "env/worldmodel" and manifest["episodes"] >= 2  # 16 steps, 6 per episode
    assert manifest["frame_shape"][:2] == [40, 40]
    assert manifest["env_options"]["run_dir"] == str(tiny_world_model_run)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["agent"]["steps"] >= 16 and np.isfinite(metrics["agent"]["steps_per_s"])


CHROMIUM = chromium_executable()


def test_worldmodel_env_follows_the_protocol_and_its_options(tiny_world_model_run: Path):
    from almost.testing import check_environment

    env = load_app().registry.create("env/worldmodel", run_dir=tiny_world_model_run, max_steps=5)
    try:
        check_environment(env, steps=6)
        assert env.action_names == ["noop", "left", "right"] and env.noop_action == 0
        frame, info = env.reset(seed=3)
        assert frame.shape == (40, 40, 3) and info["episode"].startswith("collect:")
        a, *_ = env.step(1)
        env.reset(seed=3)
        b, *_ = env.step(1)
        assert np.array_equal(a, b)  # same seed, same frames
        env.set_options(steps=2, noise_level=0.3)
        assert env.get_options() == {"steps": 2, "noise_level": 0.3}
        with pytest.raises(ValueError, match="noise_level must be between"):
            env.set_options(noise_level=5)
        with pytest.raises(ValueError, match="not one of"):
            env.step(7)
    finally:
        env.close()


def test_missing_model_is_a_clear_error(tmp_path: Path):
    from almost.errors import UserError
    from almost_gamengen.play.worldmodel_env import WorldModelEnv

    with pytest.raises(UserError, match="has no trained world model"):
        WorldModelEnv(tmp_path)


@pytest.mark.slow
def test_sb3_ppo_trains_inside_the_world_model(tiny_world_model_run: Path):
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger

    from almost_gamengen.play.worldmodel_env import WorldModelEnv

    env = WorldModelEnv(tiny_world_model_run, steps=1, max_steps=64)
    try:
        model = PPO("CnnPolicy", env, n_steps=100, batch_size=50, n_epochs=1, seed=0, device="cpu",
                    policy_kwargs={"normalize_images": True}, verbose=0)
        model.set_logger(Logger(folder=None, output_formats=[]))  # else SB3 leaves an empty /tmp/SB3-* folder
        before = [p.detach().clone() for p in model.policy.parameters()]
        model.learn(total_timesteps=200)
        assert model.num_timesteps >= 200
        moved = [not torch.equal(a, b) for a, b in zip(before, model.policy.parameters())]
        assert any(moved), "PPO did not update its policy inside the world model"
    finally:
        env.close()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
def test_page_plays_the_world_model(tiny_world_model_run: Path, tmp_path: Path):
    from almost_gamengen.play.server import ServerThread, make_app
    from almost_gamengen.plugin import play_sessions

    from .test_server import play_in_browser

    sessions = play_sessions(tiny_world_model_run, steps=2, game=False)
    with ServerThread(make_app(sessions, tmp_path, max_fps=30)) as url:
        seen = play_in_browser(url, tmp_path, keys=("a", "d", "a", "d"))
    assert seen["distinct_frames"] >= 3, "generated frames did not change"
    assert seen["fps"] > 0
    assert seen["screenshot_std"] > 5
    assert "left" in seen["keys_help"] and "right" in seen["keys_help"]  # the model's own actions
