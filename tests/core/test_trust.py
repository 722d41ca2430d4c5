"""Runs you can trust (issue 10): one test (or a few) per item of the issue.

Each uses ``tests/core/trust_plugin.py``: a real (tiny) accelerate training stage with
checkpoints between a data stage and a report stage.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from almost.errors import ConfigError, InterruptedRun, NonFiniteError, RunLocked, UserError
from almost.runs import RunContext, mark_stale, run_pipeline
from almost.testing import run_cli

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import trust_plugin  # noqa: E402


@pytest.fixture(scope="module")
def app():
    return trust_plugin.app()


def _run(app, out, *stages, **kw):
    return run_pipeline(app.pipeline("trainy"), app.registry, stages=stages, out=out, **kw)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _status(out: Path) -> dict:
    return {k: v["status"] for k, v in _manifest(out)["stages"].items()}


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(out / "train" / "weights.safetensors"))


def _strict(path: Path):
    def bad(c):
        raise ValueError(f"{path} holds {c}")

    return json.loads(path.read_text(), parse_constant=bad)


def _script(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, str(HERE / "trust_plugin.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ALMOST_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", **(env or {})},
                            **kw)


# 1 -- --force after an interrupted stage starts it fresh --------------------------------
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


# 2 -- --force invalidates every later stage ----------------------------------------------
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


# 3 -- a bad value is caught before anything moves ----------------------------------------
def test_bad_component_name_fails_before_anything_moves(app, tmp_path):
    _run(app, tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    cfg, man = (tmp_path / "config.toml").read_bytes(), (tmp_path / "manifest.json").read_bytes()
    with pytest.raises(ConfigError, match=r"^reward names no known reward component \('sharpnes'\); known reward "
                                          r"components: const$"):
        _run(app, tmp_path, "train", sets=["reward=sharpnes"], force=True)
    assert {p.name for p in tmp_path.iterdir()} == before
    assert (tmp_path / "config.toml").read_bytes() == cfg and (tmp_path / "manifest.json").read_bytes() == man


def test_almost_config_checks_component_names():
    code, _, err = run_cli(["config", "--plugin", "gamengen", "--set", "env.name=nosuchgame"])
    assert code == 2 and "env.name names no known env component ('nosuchgame')" in err and "vizdoom-basic" in err
    code, _, err = run_cli(["config", "--plugin", "ddpo", "--set", "reward=sharpnes"])
    assert code == 2 and "reward names no known reward component ('sharpnes')" in err
    code, _, err = run_cli(["run", "--plugin", "ddpo", "policy", "--set", "reward=sharpnes", "--out", "/nonexistent/x"])
    assert code == 2 and "sharpnes" in err and not Path("/nonexistent/x").exists()


# 4 -- one run per directory; records never lose updates -----------------------------------
def test_second_run_exits_at_once_naming_the_holder(app, tmp_path):
    code = ("import sys, time; from pathlib import Path; from almost.runs import RunDirLock\n"
            "l = RunDirLock(Path(sys.argv[1])); l.acquire(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.time()
        with pytest.raises(RunLocked, match=rf"{tmp_path} is in use by another run \(process {holder.pid} on "):
            _run(app, tmp_path)
        assert time.time() - t0 < 5 and RunLocked.exit_code == 2
        assert not (tmp_path / "manifest.json").exists()
        code, _, err = run_cli(["run", "--plugin", "gamengen", "--out", str(tmp_path)])
        assert code == 2 and f"process {holder.pid}" in err and len(err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: the next run takes over, with a note
    assert (tmp_path / ".almost.lock.json").exists()
    proc = _script("run", "--plugin", "trainy", "prep", "--out", str(tmp_path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"taking over the lock of {tmp_path} from process {holder.pid}" in " ".join(out.split())
    assert not (tmp_path / ".almost.lock.json").exists()  # released at the end


_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import trust_plugin
from almost.runs import RunContext
app = trust_plugin.app()
ctx = RunContext(pipeline=app.pipeline("trainy"), config=None, run_dir=Path(sys.argv[1]), profile="tiny",
                 registry=app.registry, stage_name="train")
for i in range(int(sys.argv[4])):
    ctx.log_metrics(**{f"{sys.argv[2]}{i}": i})
    ctx.add_artifact(Path(sys.argv[1]) / f"{sys.argv[2]}{i}.bin")
"""


def test_concurrent_record_writers_lose_nothing(tmp_path):
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), w, str(HERE), str(n)]) for w in "ab"]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    metrics = _strict(tmp_path / "metrics.json")["train"]
    arts = _manifest(tmp_path)["stages"]["train"]["artifacts"]
    assert len(metrics) == 2 * n and len(arts) == 2 * n


# 5 -- ranges -----------------------------------------------------------------------------
@pytest.mark.parametrize("item, message", [
    ("steps=-5", "steps must be >= 1, not -5"),
    ("every=0", "every must be >= 1, not 0"),
    ("lr=0", "lr must be > 0, not 0.0"),
    ("lr=nan", "lr must be a finite number, not 'nan'"),
    ("keep=-1", "keep must be >= 0, not -1"),
    ("sleep=-1", "sleep must be >= 0, not -1.0"),
])
def test_out_of_range_values_are_one_sentence_before_anything_runs(app, tmp_path, item, message):
    with pytest.raises(ConfigError) as e:
        _run(app, tmp_path, sets=[item])
    assert str(e.value) == message
    assert not (tmp_path / "manifest.json").exists() and not (tmp_path / "prep").exists()


def test_checkpoints_refuse_a_negative_keep(tmp_path):
    from almost.train.checkpoint import Checkpoints

    with pytest.raises(UserError, match="keep_checkpoints must be >= 1"):
        Checkpoints(tmp_path, accelerator=None, keep=-1)


# 6 -- NaN stops training; records stay strict JSON ------------------------------------------
def test_nan_loss_stops_with_stage_and_step_and_keeps_the_last_good_checkpoint(app, tmp_path):
    with pytest.raises(NonFiniteError, match=r"^train: loss became nan at step 4; the last good checkpoint step-00000002 is kept"):
        _run(app, tmp_path, sets=["steps=8", "nan_at=3"])
    assert _status(tmp_path)["train"] == "failed"
    ck = sorted(p.name for p in (tmp_path / "train" / "checkpoints").iterdir())
    assert ck == ["step-00000002"]  # step 4's NaN weights were never saved
    assert not (tmp_path / "train" / "weights.safetensors").exists()
    _strict(tmp_path / "metrics.json")
    _strict(tmp_path / "manifest.json")


def test_checkpoints_never_save_nan_weights(tmp_path):
    import torch

    from almost.train.checkpoint import Checkpoints, make_accelerator

    acc = make_accelerator(cpu=True)
    model = acc.prepare(torch.nn.Linear(2, 1))
    ck = Checkpoints(tmp_path / "train" / "ck", acc)
    ck.save(1)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"train: weight weight became NaN or infinite by step 2; the last good "
                                             r"checkpoint step-00000001 is kept"):
        ck.save(2)
    assert [p.name for p in ck.all()] == ["step-00000001"]


def test_metrics_json_is_strict_json(app, tmp_path):
    ctx = RunContext(pipeline=app.pipeline("trainy"), config=None, run_dir=tmp_path, profile="tiny",
                     registry=app.registry, stage_name="train")
    ctx.log_metrics(loss=float("nan"), big=float("inf"), ok=1)
    assert _strict(tmp_path / "metrics.json") == {"train": {"loss": None, "big": None, "ok": 1.0}}


# 7 -- checkpoints: fsynced; a torn newest one falls back -------------------------------------
def test_resume_skips_a_torn_checkpoint_and_matches_an_uninterrupted_run(app, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setenv("TRAINY_STOP_AT", "6")
    with pytest.raises(InterruptedRun):
        _run(app, run, sets=["steps=8"])
    monkeypatch.delenv("TRAINY_STOP_AT")
    newest = run / "train" / "checkpoints" / "step-00000004" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:40])  # a torn file in the newest checkpoint
    capsys.readouterr()
    metrics = _run(app, run, sets=["steps=8"])
    out = " ".join(capsys.readouterr().out.split())
    assert "step-00000004 is damaged (model.safetensors has 40 bytes, not the" in out
    assert "set aside as damaged-step-00000004" in out
    assert metrics["train"]["resumed_from"] == 2.0
    _run(app, tmp_path / "straight", sets=["steps=8"])
    a, b = _weights(run), _weights(tmp_path / "straight")
    assert all((a[k] == b[k]).all() for k in a)  # bitwise


def test_no_intact_checkpoint_is_one_sentence(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINY_STOP_AT", "4")
    with pytest.raises(InterruptedRun):
        _run(app, tmp_path, sets=["steps=8"])
    monkeypatch.delenv("TRAINY_STOP_AT")
    (tmp_path / "train" / "checkpoints" / "step-00000002" / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(UserError, match=r"^no intact checkpoint in .*checkpoints \(step-00000002: model.safetensors "
                                        r"has 4 bytes.*re-run with --force train\)$"):
        _run(app, tmp_path, sets=["steps=8"])


def test_checkpoint_files_and_folders_are_fsynced(app, tmp_path, monkeypatch):
    synced: set[str] = set()
    real = os.fsync

    def spy(fd):
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    _run(app, tmp_path, sets=["steps=2"])
    ck = tmp_path / "train" / "checkpoints" / "step-00000002"
    files = [p for p in ck.rglob("*")]
    assert files and all(str(p).replace(ck.name, f".{ck.name}.tmp") in synced or str(p) in synced for p in files)
    assert str(ck.parent) in synced  # the rename itself


# 8 -- a stage's metrics are never another run's ------------------------------------------------
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


# 9 -- damaged inputs: one sentence naming the file -----------------------------------------------
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


def test_disk_full_inside_a_checkpoint_write_is_one_sentence(tmp_path, monkeypatch):
    import torch

    from almost.train.checkpoint import Checkpoints, make_accelerator

    acc = make_accelerator(cpu=True)
    acc.prepare(torch.nn.Linear(2, 1))
    ck = Checkpoints(tmp_path / "train" / "checkpoints", acc)
    ck.save(1)

    def full(path, **kw):  # what safetensors raises when the disk fills up mid-file
        raise RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(acc, "save_state", full)
    with pytest.raises(UserError, match=r"^no space left on the device while writing .*step-00000002.tmp; free some"):
        ck.save(2)
    assert [p.name for p in (tmp_path / "train" / "checkpoints").iterdir()] == ["step-00000001"]


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


# 10 -- signals ------------------------------------------------------------------------------------
@pytest.fixture
def trainy_cli(app, monkeypatch):
    """``almost ARGS`` in-process, with the trainy plugin as the installed one."""
    from almost import plugins

    def get_app():
        return app

    get_app.cache_clear = lambda: None
    monkeypatch.setattr(plugins, "get_app", get_app)
    return run_cli


@pytest.mark.parametrize("sig, code", [("TERM", 143), ("INT", 130)])
def test_signals_stop_with_a_resume_hint_and_the_right_exit_code(trainy_cli, tmp_path, monkeypatch, sig, code):
    args = ["run", "--plugin", "trainy", "--out", str(tmp_path), "--set", "steps=6"]
    monkeypatch.setenv("TRAINY_SIGNAL_AT", "4")
    monkeypatch.setenv("TRAINY_SIG", sig)
    rc, out, err = trainy_cli(args)
    assert rc == code, err
    assert err.strip() == "interrupted at step 3 of train; re-run the same command to resume"  # no "Aborted!"
    assert _status(tmp_path)["train"] == "interrupted"
    monkeypatch.delenv("TRAINY_SIGNAL_AT")
    rc, out, err = trainy_cli(args)
    assert rc == 0, err
    assert "resuming" in out and _status(tmp_path)["train"] == "done"


@pytest.mark.slow
def test_an_external_sigterm_stops_the_run_cleanly(tmp_path):
    proc = _script("run", "--plugin", "trainy", "--out", str(tmp_path), "--set", "steps=8", "--set", "sleep=0.3")
    deadline = time.time() + 120
    while not (tmp_path / "train" / "checkpoints" / "step-00000002").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # what a cluster sends on preemption
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and err.strip().startswith("interrupted at step ")
    assert err.strip().endswith(" of train; re-run the same command to resume")
    assert _status(tmp_path)["train"] == "interrupted"


def test_sigterm_in_process_marks_the_stage_interrupted(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINY_SIGNAL_AT", "3")
    with pytest.raises(InterruptedRun) as e:
        _run(app, tmp_path, sets=["steps=6"])
    assert e.value.exit_code == 143 and str(e.value) == "interrupted at step 2 of train; re-run the same command to resume"
    assert _manifest(tmp_path)["stages"]["train"]["signal"] == "SIGTERM"


def test_a_stage_that_handles_ctrl_c_can_still_be_interrupted_again(tmp_path):
    import almost
    from almost.plugins import load

    seen = []

    def stage(ctx):
        try:
            os.kill(os.getpid(), signal.SIGINT)  # e.g. "Ctrl-C stops the scoring page"
            time.sleep(5)
        except KeyboardInterrupt:
            seen.append("handled")
        os.kill(os.getpid(), signal.SIGTERM)  # the next one must still stop the run
        time.sleep(5)
        seen.append("not stopped")

    class P:
        @almost.hookimpl
        def almost_pipelines(self, register):
            register(almost.Pipeline(name="ctrlc", stages=[almost.Stage("serve", stage)],
                                     profiles={"tiny": lambda: trust_plugin.TrainyConfig(reward="")}))

    app = load(extra={"ctrlc": P()}, env={"ALMOST_PLUGINS": "ctrlc"})
    before = signal.getsignal(signal.SIGINT)  # default_int_handler; SIG_IGN under a background `&` job
    with pytest.raises(InterruptedRun) as e:
        run_pipeline(app.pipeline("ctrlc"), app.registry, out=tmp_path)
    assert seen == ["handled"] and e.value.exit_code == 143
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


# 11 -- same config, same weights -------------------------------------------------------------------
def test_same_config_gives_bitwise_equal_weights(app, tmp_path):
    _run(app, tmp_path / "one")
    _run(app, tmp_path / "two")
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert all((a[k] == b[k]).all() for k in a)


# 12 -- hints keep --out --------------------------------------------------------------------------
def test_hints_keep_the_users_out(app, tmp_path):
    out = tmp_path / "my run"
    with pytest.raises(UserError) as e:
        _run(app, out, "train")
    assert f"run `almost run --plugin trainy prep --out '{out}'` first" in str(e.value)
