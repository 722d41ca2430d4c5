"""Runs you can trust, second pass (issue 27): config identity, checkpoints verified by content,
honest NaN messages, a stage done only with its metrics. Uses ``tests/core/trust_plugin.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from almost.errors import ConfigError, InterruptedRun, NonFiniteError, UserError
from almost.runs import run_pipeline

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import trust_plugin  # noqa: E402


@pytest.fixture(scope="module")
def app():
    return trust_plugin.app()


def _run(app, out, *stages, **kw):
    return run_pipeline(app.pipeline("trainy"), app.registry, stages=stages, out=out, **kw)


def _interrupt(app, out, monkeypatch, at=6, sets=("steps=8",)):
    monkeypatch.setenv("TRAINY_STOP_AT", str(at))
    with pytest.raises(InterruptedRun):
        _run(app, out, sets=list(sets))
    monkeypatch.delenv("TRAINY_STOP_AT")


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(out / "train" / "weights.safetensors"))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


# -- one config identity per stage ---------------------------------------------------------------
def test_force_of_another_stage_does_not_let_train_resume_an_old_config_checkpoint(app, tmp_path, monkeypatch):
    """The issue's repro: interrupt train (lr 0.1), `report --force --set lr=0.05` rewrites config.toml
    (and fails: train is not done), then `train --set lr=0.05` must not resume the lr=0.1 checkpoint."""
    _interrupt(app, tmp_path, monkeypatch)
    with pytest.raises(UserError):
        _run(app, tmp_path, "report", sets=["steps=8", "lr=0.05"], force=True)
    assert "lr = 0.05" in (tmp_path / "config.toml").read_text()
    with pytest.raises(ConfigError) as e:
        _run(app, tmp_path, "train", sets=["steps=8", "lr=0.05"])
    msg = str(e.value)
    assert "stage train was interrupted under another config (lr 0.1 → 0.05)" in msg
    assert "--force train" in msg and "\n" not in msg
    # --force train starts it over, and the result is the lr=0.05 model, not the old one
    shown = _run(app, tmp_path, "train", sets=["steps=8", "lr=0.05"], force=True)
    assert shown["train"]["resumed_from"] == 0.0
    _run(app, tmp_path / "fresh", sets=["steps=8", "lr=0.05"])
    assert _same(_weights(tmp_path), _weights(tmp_path / "fresh"))


def test_an_edited_config_toml_passed_back_with_config_is_refused(app, tmp_path, monkeypatch):
    _interrupt(app, tmp_path, monkeypatch)
    cfg = tmp_path / "config.toml"
    cfg.write_text(cfg.read_text().replace("lr = 0.1", "lr = 0.02"))
    with pytest.raises(ConfigError, match=r"interrupted under another config \(lr 0.1 → 0.02\)"):
        _run(app, tmp_path, config_file=cfg)
    # the same config resumes
    cfg.write_text(cfg.read_text().replace("lr = 0.02", "lr = 0.1"))
    assert _run(app, tmp_path, config_file=cfg)["train"]["resumed_from"] == 4.0


def test_a_checkpoint_of_another_config_is_refused_even_without_the_stage_record(app, tmp_path, monkeypatch):
    _interrupt(app, tmp_path, monkeypatch)
    (tmp_path / "train" / ".almost-config.json").unlink()  # e.g. a folder copied in by hand
    (tmp_path / "config.toml").unlink()
    with pytest.raises(ConfigError, match=r"checkpoint .*step-00000004 was made with another config \(lr 0.1 → 0.3\)"
                                          r".*--force train"):
        _run(app, tmp_path, sets=["steps=8", "lr=0.3"])


# -- checkpoints verified by content ---------------------------------------------------------------
def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x55  # same size, other content (inside the last tensor's data)
    path.write_bytes(bytes(data))


def test_same_size_damage_is_found_set_aside_and_the_older_one_used(app, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    _interrupt(app, run, monkeypatch)
    ck = run / "train" / "checkpoints"
    _flip_a_byte(ck / "step-00000004" / "model.safetensors")
    capsys.readouterr()
    shown = _run(app, run, sets=["steps=8"])
    out = " ".join(capsys.readouterr().out.split())
    assert ("checkpoint step-00000004 is damaged (model.safetensors does not match the checksum written with it); "
            "set aside as damaged-step-00000004") in out
    assert shown["train"]["resumed_from"] == 2.0
    assert (ck / "damaged-step-00000004" / "almost-damaged.txt").is_file()
    _run(app, tmp_path / "straight", sets=["steps=8"])
    assert _same(_weights(run), _weights(tmp_path / "straight"))


def test_no_intact_checkpoint_says_what_happens_next(app, tmp_path, monkeypatch):
    _interrupt(app, tmp_path, monkeypatch, at=4)
    _flip_a_byte(tmp_path / "train" / "checkpoints" / "step-00000002" / "model.safetensors")
    with pytest.raises(UserError, match=r"^no intact checkpoint in .*checkpoints \(step-00000002: model.safetensors "
                                        r"does not match.*set aside.*starts train from step 0"):
        _run(app, tmp_path, sets=["steps=8"])
    shown = _run(app, tmp_path, sets=["steps=8"])  # as the message says
    assert shown["train"]["resumed_from"] == 0.0


def _poison(ckpt: Path) -> None:
    """A checkpoint whose weights are finite but absurd (as from flipped bits in memory), with
    matching checksums: only training from it shows the damage (NaN)."""
    import torch
    from safetensors.torch import load_file, save_file

    from almost.train.checkpoint import file_sha256

    f = ckpt / "model.safetensors"
    t = load_file(str(f))
    save_file({k: torch.full_like(v, 3e37) for k, v in t.items()}, str(f))
    state = json.loads((ckpt / "almost_state.json").read_text())
    state["almost_files"]["model.safetensors"] = {"bytes": f.stat().st_size, "sha256": file_sha256(f)}
    (ckpt / "almost_state.json").write_text(json.dumps(state))


def test_nan_after_resume_falls_back_to_the_older_checkpoint(app, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    _interrupt(app, run, monkeypatch)
    _poison(run / "train" / "checkpoints" / "step-00000004")
    capsys.readouterr()
    shown = _run(app, run, sets=["steps=8"])
    out = " ".join(capsys.readouterr().out.split())
    assert "train: NaN after resuming from step-00000004; set it aside as damaged-step-00000004" in out
    assert shown["train"]["resumed_from"] == 2.0 and _manifest(run)["stages"]["train"]["status"] == "done"
    _run(app, tmp_path / "straight", sets=["steps=8"])
    assert _same(_weights(run), _weights(tmp_path / "straight"))
    # the history holds each step once, as an uninterrupted run's
    from almost.observe.history import read_history

    steps = [r["step"] for r in read_history(run / "train") if "loss" in r]
    assert steps == sorted(set(steps))


def test_nan_that_is_the_trainings_gives_up_and_puts_the_checkpoint_back(app, tmp_path, monkeypatch):
    _interrupt(app, tmp_path, monkeypatch, sets=("steps=8", "nan_at=7"))
    with pytest.raises(NonFiniteError, match="the training diverges, not a checkpoint"):
        _run(app, tmp_path, sets=["steps=8", "nan_at=7"])
    assert (tmp_path / "train" / "checkpoints" / "step-00000004").is_dir()
    assert not (tmp_path / "train" / "checkpoints" / "damaged-step-00000004").exists()


def test_nan_message_claims_a_kept_checkpoint_only_when_there_is_one(app, tmp_path):
    with pytest.raises(NonFiniteError) as e:
        _run(app, tmp_path / "a", sets=["nan_at=1"])
    assert "no checkpoint was saved" in str(e.value) and "is kept" not in str(e.value)
    with pytest.raises(NonFiniteError) as e:
        _run(app, tmp_path / "b", sets=["nan_at=4"])
    assert "the last good checkpoint step-00000002 is kept" in str(e.value)


# -- a stage is done only with its model, metrics and record ------------------------------------------
def _script(*args, env=None):
    return subprocess.run([sys.executable, str(HERE / "trust_plugin.py"), *args], capture_output=True, text=True,
                          env={**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", **(env or {})},
                          timeout=300)


@pytest.mark.parametrize("where", ["KILL_AFTER_ARTIFACT", "KILL_AFTER_METRICS"])
def test_kill_9_around_the_end_of_a_stage_never_leaves_it_done_without_metrics(tmp_path, where):
    args = ["run", "--plugin", "trainy", "--out", str(tmp_path), "--set", "steps=4"]
    r = _script(*args, env={f"TRAINY_{where}": "1"})
    assert r.returncode == -9, r.stderr[-2000:]
    rec = json.loads((tmp_path / "manifest.json").read_text())["stages"]["train"]
    assert rec["status"] == "running"  # not done: the record is the commit
    r = _script(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    rec = json.loads((tmp_path / "manifest.json").read_text())["stages"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert rec["train"]["status"] == "done" and metrics["train"]["steps"] == 4.0
    assert rec["train"]["metrics"] == metrics["train"]  # the record holds the metrics it was done with
    assert metrics["report"]["weight_sum"] and "train" in r.stdout  # in the summary


def test_metrics_lost_after_the_commit_come_back_from_the_record(app, tmp_path):
    _run(app, tmp_path, sets=["steps=2"])
    expected = json.loads((tmp_path / "metrics.json").read_text())
    (tmp_path / "metrics.json").write_text(json.dumps({"prep": expected["prep"]}))  # as a kill between the two files
    shown = _run(app, tmp_path, sets=["steps=2"])
    assert shown["train"] == expected["train"] and shown["report"] == expected["report"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == expected


# -- bounds for numeric settings: one sentence, before anything runs --------------------------------
@pytest.mark.parametrize("plugin, item, message", [
    ("gamengen", "model.block_out_channels=[-32,64]", "model.block_out_channels must be >= 1"),
    ("gamengen", "model.block_out_channels=[]", "model.block_out_channels must list at least one size"),
    ("gamengen", "train.steps=1180591620717411303424", "train.steps must be <= 1000000000"),
    ("gamengen", "train.steps=1e12", "train.steps must be an int, not '1e12'"),
    ("gamengen", "train.batch_size=100000000", "train.batch_size must be <= 1048576"),
    ("gamengen", "train.warmup_steps=100000000000000000000", "train.warmup_steps must be <= 1000000000"),
    ("ddpo", "pretrain.image_size=33", "pretrain.image_size must be a multiple of 8"),
    ("ddpo", "generate.prompts=[]", "generate.prompts must be a list of at least one non-empty prompt"),
    ("irgen", "train.max_steps=99999999999", "train.max_steps must be <= 1000000000"),
])
def test_out_of_bound_settings_are_one_sentence(plugin, item, message):
    from almost.testing import run_cli

    code, out, err = run_cli(["config", "--plugin", plugin, "--set", item])
    assert code == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_config_given_a_folder_is_one_sentence(tmp_path):
    from almost.testing import run_cli

    code, out, err = run_cli(["run", "--plugin", "gamengen", "--config", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err and "Usage:" not in err, err


def test_a_damaged_history_is_kept_aside_not_silently_rewritten(tmp_path, capsys):
    from almost.observe.history import History, read_history

    good = '{"step": 1, "loss": 1.0}\n'
    (tmp_path / "history.jsonl").write_bytes(good.encode() + b"\xff\xfe garbage\n\x00\x01\n")
    h = History(tmp_path)
    h.log(2, {"loss": 0.5})
    h.close()
    assert [r["step"] for r in read_history(tmp_path)] == [1, 2]
    assert (tmp_path / "history.jsonl.damaged").read_bytes().startswith(good.encode() + b"\xff")
    assert "2 line(s) are not step records" in " ".join(capsys.readouterr().out.split())
    # a torn last line (what kill -9 leaves) is dropped quietly, as before
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "history.jsonl").write_text(good + '{"step": 2, "lo')
    History(tmp_path / "b").log(2, {"loss": 0.5})
    assert not (tmp_path / "b" / "history.jsonl.damaged").exists()
