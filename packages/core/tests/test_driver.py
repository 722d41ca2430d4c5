"""almost.runs.driver: the loop over stages (force, stale, config identity, NaN fall-back, disk full).

Uses ``trust_plugin.py``: a real (tiny) accelerate training stage with checkpoints between a
data stage and a report stage."""

from __future__ import annotations

import errno

import pytest

from almost.errors import ConfigError, InterruptedRun, NonFiniteError, UserError

from .trusty import (
    _interrupt,
    _manifest,
    _poison,
    _run,
    _same,
    _status,
    _weights,
)


def test_force_after_an_interruption_starts_fresh_with_the_new_config(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINY_STOP_AT", "6")
    with pytest.raises(InterruptedRun, match="interrupted at step 5 of train; re-run the same command to resume"):
        _run(app, tmp_path, sets=["steps=8"])
    monkeypatch.delenv("TRAINY_STOP_AT")
    assert (tmp_path / "train" / "checkpoints" / "step-00000004").is_dir()
    metrics = _run(app, tmp_path, "train", sets=["steps=4", "lr=0.05"], force=True)
    assert metrics["train"]["resumed_from"] == 0.0 and metrics["train"]["steps"] == 4.0  # not "resuming from 4"
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("train.replaced-")]
    assert len(aside) == 1 and (aside[0] / "checkpoints" / "step-00000004").is_dir()  # partial work kept aside
    # the same as a fresh run with that config
    fresh = tmp_path / "fresh"
    _run(app, fresh, sets=["steps=4", "lr=0.05"])
    assert all((_weights(tmp_path)[k] == _weights(fresh)[k]).all() for k in _weights(fresh))


def test_an_interrupted_forced_stage_says_to_drop_force_and_that_resumes(app, tmp_path, monkeypatch):
    # following the hint literally must not set the partial work aside a second time
    _run(app, tmp_path, sets=["steps=8"])
    monkeypatch.setenv("TRAINY_STOP_AT", "6")
    with pytest.raises(InterruptedRun, match="re-run the same command without --force to resume"):
        _run(app, tmp_path, "train", sets=["steps=9"], force=True)
    monkeypatch.delenv("TRAINY_STOP_AT")
    metrics = _run(app, tmp_path, "train", sets=["steps=9"])  # the same command, without --force
    assert metrics["train"]["resumed_from"] == 4.0 and metrics["train"]["steps"] == 9.0


def test_bad_component_name_fails_before_anything_moves(app, tmp_path):
    _run(app, tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    cfg, man = (tmp_path / "config.toml").read_bytes(), (tmp_path / "manifest.json").read_bytes()
    with pytest.raises(ConfigError, match=r"^reward names no known reward component \('sharpnes'\); known reward "
                                          r"components: const$"):
        _run(app, tmp_path, "train", sets=["reward=sharpnes"], force=True)
    assert {p.name for p in tmp_path.iterdir()} == before
    assert (tmp_path / "config.toml").read_bytes() == cfg and (tmp_path / "manifest.json").read_bytes() == man


def test_disk_full_during_a_save_is_one_sentence(app, tmp_path, monkeypatch):
    import almost.io

    real = almost.io.os.replace

    def full(src, dst):
        if str(dst).endswith("weights.safetensors"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(almost.io.os, "replace", full)
    with pytest.raises(UserError, match=rf"^no space left on the device while writing {tmp_path / 'train'}/weights"):
        _run(app, tmp_path, sets=["steps=2"])
    assert _status(tmp_path)["train"] == "failed"
    assert not list((tmp_path / "train").glob(".weights*"))  # no temp file left behind


def test_deleted_folder_of_a_done_stage_runs_again(app, tmp_path, capsys):
    import shutil

    _run(app, tmp_path, "prep")
    shutil.rmtree(tmp_path / "prep")
    with pytest.raises(UserError, match=r"stage 'prep' has not run in .*; run `almost run --plugin trainy prep --out"):
        _run(app, tmp_path, "train")
    capsys.readouterr()
    _run(app, tmp_path, "prep")
    out = " ".join(capsys.readouterr().out.split())
    assert "marked done but its folder" in out and "already done" not in out
    assert (tmp_path / "prep" / "data.pt").exists()
    assert _status(tmp_path) == {"prep": "done", "train": "stale"}  # train failed on the missing input


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
