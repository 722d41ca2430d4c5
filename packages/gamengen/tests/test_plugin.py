""":mod:`almost_gamengen.plugin`: ``almost gamengen play`` samples as the run's rollout."""

from __future__ import annotations

from pathlib import Path


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
