"""env/worldmodel: a trained world model plays like a game — for people (the page) and agents (SB3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from almost.testing import chromium_executable

CHROMIUM = chromium_executable()


def test_worldmodel_env_follows_the_protocol_and_its_options(tiny_world_model_run: Path):
    from almost.testing import check_environment, load_app

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

    from .test_gamengen_play import play_in_browser

    sessions = play_sessions(tiny_world_model_run, steps=2, game=False)
    with ServerThread(make_app(sessions, tmp_path, max_fps=30)) as url:
        seen = play_in_browser(url, tmp_path, keys=("a", "d", "a", "d"))
    assert seen["distinct_frames"] >= 3, "generated frames did not change"
    assert seen["fps"] > 0
    assert seen["screenshot_std"] > 5
    assert "left" in seen["keys_help"] and "right" in seen["keys_help"]  # the model's own actions


def test_play_samples_as_the_runs_rollout_unless_told_otherwise(tiny_world_model_run: Path, tmp_path: Path):
    """play's model takes the run's rollout.play_steps (rollout.ddim_steps when it is 0) and
    guidance_scale (what the metrics measured); --steps still overrides the steps."""
    import re
    import shutil

    from almost_gamengen.config import tiny
    from almost_gamengen.plugin import play_sessions

    run = tmp_path / "run"
    shutil.copytree(tiny_world_model_run, run)
    text = (run / "config.toml").read_text()
    text = re.sub(r"(?m)^ddim_steps = \d+$", "ddim_steps = 3", text)
    text = re.sub(r"(?m)^guidance_scale = [0-9.]+$", "guidance_scale = 1.5", text)
    text = re.sub(r"(?m)^play_steps = \d+$", "play_steps = 0", text)
    (run / "config.toml").write_text(text)
    env = play_sessions(run, game=False)["model"].env
    assert env.get_options()["steps"] == 3 and env.guidance_scale == 1.5  # play_steps 0: ddim_steps
    (run / "config.toml").write_text(re.sub(r"(?m)^play_steps = \d+$", "play_steps = 4", text))
    assert play_sessions(run, game=False)["model"].env.get_options()["steps"] == 4
    assert play_sessions(run, steps=2, game=False)["model"].env.get_options()["steps"] == 2
    assert tiny().rollout.ddim_steps != 3 and tiny().rollout.play_steps != 4  # the run's values, not the profile's
