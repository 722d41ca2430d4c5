"""Pipelines: run dirs, manifest, skip/--force, resume, rounds; and the CLI's error handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from almost.errors import ConfigError, InterruptedRun, UnknownNameError
from almost.runs import run_pipeline
from almost.testing import run_cli

from . import conftest


def _run(app, tmp_path, *stages, **kw):
    return run_pipeline(app.pipeline(kw.pop("name", "toy")), app.registry, stages=stages, out=tmp_path, **kw)


def test_run_writes_config_manifest_metrics_and_skips_finished(toy_app, tmp_path: Path):
    metrics = _run(toy_app, tmp_path, sets=["seed=4"])
    assert conftest.CALLS == ["a", "b"]
    assert metrics == {"a": {"value_a": 1.5}, "b": {"steps_done": 3.0}}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["pipeline"] == "toy" and manifest["profile"] == "tiny"
    assert {k: v["status"] for k, v in manifest["stages"].items()} == {"a": "done", "b": "done"}
    assert manifest["stages"]["b"]["artifacts"] == {"counter": "b/step.txt"}
    assert "almost-core" in manifest["versions"]
    assert "seed = 4" in (tmp_path / "config.toml").read_text()
    assert (tmp_path / "a" / "a.txt").read_text() == "seed=4"

    _run(toy_app, tmp_path, sets=["seed=4"])
    assert conftest.CALLS == ["a", "b"]  # both skipped


def test_changed_config_is_refused_without_force(toy_app, tmp_path: Path):
    _run(toy_app, tmp_path)
    with pytest.raises(ConfigError, match=r"was run with a different config \(seed changed\)"):
        _run(toy_app, tmp_path, sets=["seed=9"])
    _run(toy_app, tmp_path, "a", sets=["seed=9"], force=True)
    assert conftest.CALLS == ["a", "b", "a"]
    assert (tmp_path / "a" / "a.txt").read_text() == "seed=9"
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("a.replaced-")]
    assert len(kept) == 1 and (kept[0] / "a.txt").read_text() == "seed=0"  # nothing lost


def test_a_key_added_after_the_run_was_made_counts_only_off_its_default(toy_app, tmp_path: Path):
    """A run made before a config key existed (its config.toml lacks it) goes on under the key's
    default, and is refused when this run sets the key to something else."""
    _run(toy_app, tmp_path)
    cfg_file = tmp_path / "config.toml"
    old = cfg_file.read_text()
    assert 'name = "toy"' in old
    cfg_file.write_text(old.replace('name = "toy"\n', ""))  # as written before `name` existed
    _run(toy_app, tmp_path)
    assert conftest.CALLS == ["a", "b"]  # nothing re-ran, nothing refused
    with pytest.raises(ConfigError, match=r"was run with a different config \(name changed\)"):
        _run(toy_app, tmp_path, sets=["name=other"])


def test_interrupted_stage_resumes_from_its_checkpoint(toy_app, tmp_path: Path):
    with pytest.raises(InterruptedRun, match="interrupted during b; re-run the same command to resume"):
        _run(toy_app, tmp_path, sets=["name=interrupt", "train.steps=5"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["stages"]["a"]["status"] == "done"
    assert manifest["stages"]["b"]["status"] == "interrupted"
    assert (tmp_path / "b" / "step.txt").read_text() == "2"
    metrics = _run(toy_app, tmp_path, sets=["name=interrupt", "train.steps=5"])
    assert conftest.CALLS == ["a", "b", "b"]  # a skipped, b resumed
    assert metrics["b"]["steps_done"] == 5


def test_rounds_pipeline_starts_next_round_when_done(toy_app, tmp_path: Path):
    assert _run(toy_app, tmp_path, name="loop")["gen"]["n"] == 1
    assert _run(toy_app, tmp_path, name="loop")["gen"]["n"] == 2
    assert (tmp_path / "round-001" / "gen" / "n.txt").read_text() == "1"
    assert (tmp_path / "round-002" / "gen" / "n.txt").read_text() == "2"
    assert json.loads((tmp_path / "round-001" / "metrics.json").read_text()) == {"gen": {"n": 1.0}}
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"gen": {"n": 2.0}}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["round"] == 2 and manifest["history"][0]["round"] == 1


def test_unknown_stage_fails_before_anything_runs(toy_app, tmp_path: Path):
    with pytest.raises(UnknownNameError, match="pipeline 'toy' has no stage 'c'; stages: a, b"):
        _run(toy_app, tmp_path, "a", "c")
    assert conftest.CALLS == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--plugin", "nope"], "error: unknown plugin 'nope'; plugins with pipelines:"),
        (["config", "--plugin", "gamengen", "--set", "seed"], "error: --set 'seed' must look like key=value"),
        (["config", "--plugin", "gamengen", "--set", "sed=1"], "error: unknown config key 'sed'; known keys:"),
        (["config", "--plugin", "gamengen", "--config", "/nonexistent/x.toml"], "config file /nonexistent/x.toml does not exist"),
        (["components", "rewards"], "error: unknown component kind 'rewards'"),
        (["stages", "--plugin", "nope"], "error: unknown plugin 'nope'"),
    ],
)
def test_cli_user_errors_are_one_line_exit_2(args, message):
    code, out, err = run_cli(args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_cli_bad_toml_is_one_line(tmp_path: Path):
    f = tmp_path / "bad.toml"
    f.write_text("[train\n")
    code, _, err = run_cli(["config", "--plugin", "gamengen", "--config", str(f)])
    assert code == 2 and "is not valid TOML" in err and "Traceback" not in err


def test_cli_config_prints_toml_that_reads_back(tmp_path: Path):
    import tomllib

    code, out, err = run_cli(["config", "--plugin", "gamengen", "--set", "seed=11"])
    assert code == 0, err
    assert tomllib.loads(out)["seed"] == 11
    f = tmp_path / "c.toml"
    f.write_text(out)
    code, out2, _ = run_cli(["config", "--plugin", "gamengen", "--config", str(f)])
    assert code == 0 and out2 == out


def test_cli_stages_and_plugins():
    code, out, _ = run_cli(["stages", "--plugin", "gamengen"])
    assert code == 0 and out.index("agent") < out.index("collect") < out.index("rollout")
    code, out, _ = run_cli(["components", "env"])
    assert code == 0 and "env/gridchase" in out and "reward/brightness" not in out


def test_each_stage_gets_an_accelerator_with_its_own_settings(tmp_path: Path):
    import almost
    from almost.plugins import load

    seen = {}

    def stage(ctx):
        n = 1 if ctx.stage_name == "one" else 3
        acc = ctx.accelerator(gradient_accumulation_steps=n, cpu=True)
        assert ctx.accelerator(gradient_accumulation_steps=n, cpu=True) is acc  # shared in a stage
        seen[ctx.stage_name] = acc.gradient_accumulation_steps

    class P:
        @almost.hookimpl
        def almost_pipelines(self, register):
            register(almost.Pipeline(name="acc", stages=[almost.Stage("one", stage), almost.Stage("two", stage)],
                                     profiles={"tiny": conftest.ToyConfig}))

    app = load(extra={"acc": P()}, env={"ALMOST_PLUGINS": "acc"})
    run_pipeline(app.pipeline("acc"), app.registry, out=tmp_path)
    assert seen == {"one": 1, "two": 3}
