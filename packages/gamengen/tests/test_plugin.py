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


def test_play_on_a_folder_that_is_not_a_gamengen_run_is_one_sentence(tmp_path: Path):
    """`almost gamengen play` reads the run through almost.open_run: a folder without a run's
    config.toml, or the run of another pipeline, is one sentence and no traceback."""
    from almost.testing import run_cli

    code, out, err = run_cli(["gamengen", "play", str(tmp_path)])
    assert code != 0 and "Traceback" not in out + err
    assert "is not a gamengen run directory (no config.toml)" in out + err
    (tmp_path / "config.toml").write_text('[almost]\npipeline = "ddpo"\nprofile = "tiny"\n')
    code, out, err = run_cli(["gamengen", "play", str(tmp_path)])
    assert code != 0 and "Traceback" not in out + err
    assert "is a run of 'ddpo', not of 'gamengen'" in out + err
