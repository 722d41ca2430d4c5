"""almost.cli: the command line.

Uses ``trust_plugin.py``: a real (tiny) accelerate training stage with checkpoints between a
data stage and a report stage."""

from __future__ import annotations

from pathlib import Path

from almost.testing import run_cli


def test_almost_config_checks_component_names():
    code, _, err = run_cli(["config", "--plugin", "gamengen", "--set", "env.name=nosuchgame"])
    assert code == 2 and "env.name names no known env component ('nosuchgame')" in err and "vizdoom-basic" in err
    code, _, err = run_cli(["config", "--plugin", "ddpo", "--set", "reward=sharpnes"])
    assert code == 2 and "reward names no known reward component ('sharpnes')" in err
    code, _, err = run_cli(["run", "--plugin", "ddpo", "policy", "--set", "reward=sharpnes", "--out", "/nonexistent/x"])
    assert code == 2 and "sharpnes" in err and not Path("/nonexistent/x").exists()
