"""Any game through the data stages: a game's own options from the config (``env.options``),
and an agent trained inside a trained world model (``env/worldmodel``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from almost.errors import ConfigError
from almost.testing import load_app, run_cli


def _spec(*sets):
    from almost_gamengen.data.make_env import env_spec

    app = load_app()
    cfg = app.pipeline("gamengen").resolve_config("tiny", None, list(sets))
    return env_spec(app.registry, cfg.env)


def test_options_reach_a_third_party_env():
    spec = _spec("env.name=gridchase", "env.options.size=5", "env.options.cell=3")
    assert spec.kwargs["size"] == 5 and spec.kwargs["cell"] == 3  # TOML literals: ints
    assert "height" not in spec.kwargs  # gridchase takes no height: the shared field stays out
    env = spec.make()
    try:
        frame, _ = env.reset(seed=0)
        assert frame.shape == (15, 15, 3)
    finally:
        env.close()


def test_options_from_a_config_file(tmp_path: Path):
    from almost_gamengen.data.make_env import env_spec

    f = tmp_path / "mine.toml"
    f.write_text('[env]\nname = "gridchase"\n[env.options]\nsize = 6\nmax_steps = 9\n')
    app = load_app()
    cfg = app.pipeline("gamengen").resolve_config("tiny", f)
    spec = env_spec(app.registry, cfg.env)
    assert spec.kwargs["size"] == 6 and spec.kwargs["max_steps"] == 9  # the option wins over env.max_steps


def test_unknown_and_missing_options_name_the_fix():
    with pytest.raises(ConfigError, match=r"env.options.sise is not an option of env/gridchase; its options: cell, "
                                          r"max_steps, size"):
        _spec("env.name=gridchase", "env.options.sise=5")
    with pytest.raises(ConfigError, match=r"env/worldmodel needs the option 'run_dir': set it with "
                                          r"--set env.options.run_dir=VALUE"):
        _spec("env.name=worldmodel")


def test_options_reach_a_third_party_env_through_collect(tmp_path: Path):
    code, out, err = run_cli(["run", "--plugin", "gamengen", "collect", "--out", str(tmp_path),
                              "--set", "env.name=gridchase", "--set", "env.options.size=5",
                              "--set", "collect.policy=random", "--set", "collect.episodes=1",
                              "--set", "collect.workers=1", "--set", "collect.gif_frames=0",
                              "--set", "env.max_steps=5"])
    assert code == 0, err[-2000:]
    manifest = json.loads((tmp_path / "collect" / "episodes" / "manifest.json").read_text())
    assert manifest["frame_shape"][:2] == [20, 20]
    run = json.loads((tmp_path / "manifest.json").read_text())
    # the third-party distribution whose game made the data is on record
    assert run["stages"]["collect"]["plugins"]["almost-example"] == "0.1.0"
    assert "almost-gamengen" in run["stages"]["collect"]["plugins"]


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
