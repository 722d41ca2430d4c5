""":mod:`almost_gamengen.data.make_env`: any game through the data stages, with its own options
from the config (``env.options``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from almost.errors import ConfigError
from almost.testing import load_app, run_cli


def test_env_options_reach_only_factories_that_take_them(app):
    from almost_gamengen.config_data import EnvConfig
    from almost_gamengen.data.make_env import env_spec

    spec = env_spec(app.registry, EnvConfig(name="gridchase", max_steps=5))
    assert spec.kwargs == {"max_steps": 5}  # GridChase takes max_steps, not height/width
    spec = env_spec(app.registry, EnvConfig(name="gridchase", max_steps=0))
    assert spec.kwargs == {} and spec.time_limit == 0  # 0 keeps the game's own limit
    env = spec.make()
    try:
        env.reset(seed=0)
        assert not any(env.step(0)[2:4])  # not cut after one step
    finally:
        env.close()
    spec = env_spec(app.registry, EnvConfig(height=24, width=32))
    assert spec.kwargs["height"] == 24 and spec.kwargs["frame_skip"] == 4


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
