"""almost.runs.guards: one run per run directory (the lock), signals.

Uses ``trust_plugin.py``: a real (tiny) accelerate training stage with checkpoints between a
data stage and a report stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from almost.errors import InterruptedRun, RunLocked
from almost.runs import run_pipeline
from almost.testing import run_cli

from .trusty import (
    _manifest,
    _popen,
    _run,
    _status,
    trust_plugin,
)


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
    proc = _popen("run", "--plugin", "trainy", "prep", "--out", str(tmp_path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"taking over the lock of {tmp_path} from process {holder.pid}" in " ".join(out.split())
    assert not (tmp_path / ".almost.lock.json").exists()  # released at the end


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
    proc = _popen("run", "--plugin", "trainy", "--out", str(tmp_path), "--set", "steps=8", "--set", "sleep=0.3")
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
