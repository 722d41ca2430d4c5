"""``almost.open_run``: the one way to read a finished run back."""

from __future__ import annotations

import attrs
import pytest

import almost
from almost.errors import UserError


def test_open_run_gives_the_typed_config_manifest_and_artifacts(toy_app, tmp_path):
    cfg = almost.config_for("toy", app=toy_app)
    cfg = attrs.evolve(cfg, seed=7, train=attrs.evolve(cfg.train, steps=4))
    almost.run("toy", config=cfg, out=tmp_path, quiet=True, app=toy_app)
    run = almost.open_run(tmp_path, "toy", app=toy_app)
    assert run.pipeline == "toy" and run.profile == "tiny"
    assert run.config.seed == 7 and run.config.train.steps == 4  # typed, not raw TOML
    assert run.config.train.lr == 0.1  # a default the file also holds, read through the class
    assert run.done("a") and run.done("b") and run.status("nosuch") is None
    assert run.artifacts("b") == {"counter": tmp_path / "b" / "step.txt"}
    assert run.find("b/nosuch", "b/step.txt") == tmp_path / "b" / "step.txt"
    with pytest.raises(UserError, match="has no b/nosuch; run `almost run --plugin toy"):
        run.require("b/nosuch")


def test_open_run_follows_the_round_layout(toy_app, tmp_path):
    almost.run("loop", out=tmp_path, quiet=True, app=toy_app)
    almost.run("loop", out=tmp_path, quiet=True, app=toy_app)
    run = almost.open_run(tmp_path, app=toy_app)
    assert run.pipeline == "loop" and run.round == 2
    assert run.stage_dir("gen") == tmp_path / "round-002" / "gen"
    assert (run.stage_dir("gen") / "n.txt").read_text() == "2"
    assert run.stage_dir("gen", round=1) == tmp_path / "round-001" / "gen"


def test_open_run_refuses_what_is_not_a_run_in_one_sentence(toy_app, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        almost.open_run(tmp_path / "missing", app=toy_app)
    with pytest.raises(UserError, match=r"is not a toy run directory \(no config.toml\)"):
        almost.open_run(tmp_path, "toy", app=toy_app)
    almost.run("toy", out=tmp_path / "t", quiet=True, app=toy_app)
    with pytest.raises(UserError, match="is a run of 'toy', not of 'loop'"):
        almost.open_run(tmp_path / "t", "loop", app=toy_app)
    (tmp_path / "t" / "config.toml").write_text("seed = [unclosed\n")
    with pytest.raises(UserError, match="config.toml"):
        almost.open_run(tmp_path / "t", "toy", app=toy_app)
