"""almost.runs.rundir: the run's records (manifest, metrics from the stage files, set-aside/stale, the records lock).

Uses ``trust_plugin.py``: a real (tiny) accelerate training stage with checkpoints between a
data stage and a report stage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from almost.errors import InterruptedRun, UserError
from almost.runs import RunContext, mark_stale

from .trusty import (
    _WRITER,
    HERE,
    _manifest,
    _run,
    _script,
    _status,
    _strict,
)


def test_force_marks_later_stages_stale_and_they_rerun(app, tmp_path):
    _run(app, tmp_path)
    assert "report" in json.loads((tmp_path / "metrics.json").read_text())
    shown = _run(app, tmp_path, "train", sets=["steps=3"], force=True)
    assert _status(tmp_path) == {"prep": "done", "train": "done", "report": "stale"}
    assert "report" not in shown and "report" not in json.loads((tmp_path / "metrics.json").read_text())
    stale = [p for p in tmp_path.iterdir() if p.name.startswith("report.stale-")]
    assert len(stale) == 1 and json.loads((stale[0] / "almost-set-aside.json").read_text())["metrics"]["weight_sum"]
    forced = _manifest(tmp_path)["stages"]["report"]
    assert forced["stale_because"] == "train was redone"
    again = _run(app, tmp_path, sets=["steps=3"])
    assert _status(tmp_path)["report"] == "done" and "weight_sum" in again["report"]
    assert again["train"]["steps"] == 3.0
    # a plugin marks stages stale with the same function: the same records, folders and metrics
    moved = mark_stale(tmp_path, ["train", "report"], "the data changed")
    assert list(moved) == ["train", "report"] and all(p.name.startswith(f"{n}.stale-") for n, p in moved.items())
    recs = _manifest(tmp_path)["stages"]
    assert recs["report"].keys() == forced.keys() and recs["train"]["stale_because"] == "the data changed"
    assert _status(tmp_path) == {"prep": "done", "train": "stale", "report": "stale"}
    assert set(json.loads((tmp_path / "metrics.json").read_text())) == {"prep"}
    assert json.loads((moved["train"] / "almost-set-aside.json").read_text())["metrics"]["steps"] == 3.0
    assert mark_stale(tmp_path, ["train", "report"], "again") == {}  # already stale: nothing to do


def test_concurrent_record_writers_lose_nothing(tmp_path):
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), w, str(HERE), str(n)]) for w in "ab"]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    metrics = _strict(tmp_path / "metrics.json")["train"]
    arts = _manifest(tmp_path)["stages"]["train"]["artifacts"]
    assert len(metrics) == 2 * n and len(arts) == 2 * n


def test_metrics_json_is_strict_json(app, tmp_path):
    ctx = RunContext(pipeline=app.pipeline("trainy"), config=None, run_dir=tmp_path, profile="tiny",
                     registry=app.registry, stage_name="train")
    ctx.log_metrics(loss=float("nan"), big=float("inf"), ok=1)
    assert _strict(tmp_path / "metrics.json") == {"train": {"loss": None, "big": None, "ok": 1.0}}


def test_kill_between_artifact_and_metrics_leaves_no_old_metrics(app, tmp_path, monkeypatch):
    _run(app, tmp_path, sets=["steps=6"])
    assert _strict(tmp_path / "metrics.json")["train"]["steps"] == 6.0
    monkeypatch.setenv("TRAINY_STOP_AFTER_ARTIFACT", "1")
    with pytest.raises(InterruptedRun):
        _run(app, tmp_path, "train", sets=["steps=3"], force=True)
    monkeypatch.delenv("TRAINY_STOP_AFTER_ARTIFACT")
    assert _status(tmp_path)["train"] == "interrupted"
    assert _strict(tmp_path / "metrics.json")["train"] == {"start_rows": 64.0}  # nothing of the 6-step run
    shown = _run(app, tmp_path, "train", sets=["steps=3"])
    assert shown["train"]["steps"] == 3.0 and shown["train"]["start_rows"] == 64.0
    assert _status(tmp_path)["train"] == "done"


def test_resumed_stage_restores_what_it_logged_before(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINY_SIGNAL_AT", "5")
    monkeypatch.setenv("TRAINY_SIG", "INT")
    with pytest.raises(InterruptedRun, match="interrupted at step 4 of train"):
        _run(app, tmp_path, sets=["steps=6"])
    monkeypatch.delenv("TRAINY_SIGNAL_AT")
    assert _manifest(tmp_path)["stages"]["train"]["interrupted_at_step"] == 4
    shown = _run(app, tmp_path, sets=["steps=6"])
    # the resumed stage skipped the code that logged start_rows: it comes back from the stage folder
    assert shown["train"]["start_rows"] == 64.0 and shown["train"]["resumed_from"] == 4.0


@pytest.mark.parametrize("name, content, message", [
    ("manifest.json", "[1, 2]", "run manifest {} is valid JSON but not an Almost manifest"),
    ("manifest.json", '{"stages": {"prep": 3}}', "run manifest {} is valid JSON but not an Almost manifest"),
    ("manifest.json", "{not json", "run manifest {} is not valid JSON"),
    ("metrics.json", '{"prep": 1}', "metrics file {} is valid JSON but not {{stage: {{metric: number}}}}"),
    ("metrics.json", b"\xff\xfe\x00binary", "metrics file {} is not UTF-8 text"),
    ("config.toml", b"\x89PNG\r\n\x1a\n\x00\x00", "config file {} is not UTF-8 text"),
])
def test_damaged_run_records_are_one_sentence_naming_the_file(app, tmp_path, name, content, message):
    _run(app, tmp_path, "prep")
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError) as e:
        _run(app, tmp_path)
    assert str(e.value).startswith(message.format(path)) and "\n" not in str(e.value)


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
