"""Step-level history (almost.observe.history): append-only, each step once through kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from almost.observe.history import HISTORY_FILE, History, read_history, series
from almost.runs import run_pipeline


def _steps(records, key):
    return [r["step"] for r in records if key in r]


def test_log_appends_lines_and_reads_back(tmp_path):
    h = History(tmp_path)
    for s in range(1, 4):
        h.log(s, {"loss": 1.0 / s, "lr": 0.1, "tokens": s * 10})
    h.log(3, {"eval_loss": float("nan"), "per_class": [1, 2]})  # a list is not a step value: left out
    h.log_media(3, {"rollout": tmp_path / "a.gif"})
    h.close()
    assert History(tmp_path).last_step == 3
    h = History(tmp_path)
    assert h.log_media(None, {"grid": "/elsewhere/grid.png"})["step"] == 3  # None: the latest step
    h.log_media(5, {"grid": "/elsewhere/grid.png"})  # named again: recorded once
    h.close()
    lines = (tmp_path / HISTORY_FILE).read_text().splitlines()
    assert len(lines) == 6
    recs = [json.loads(line) for line in lines]  # strict JSON: NaN became null
    assert recs[3]["eval_loss"] is None and "per_class" not in recs[3] and recs[4]["media"] == {"rollout": "a.gif"}
    s = series(read_history(tmp_path))
    assert [p[0] for p in s["loss"]] == [1, 2, 3] and s["tokens"][-1] == (3, 30.0)
    assert s["eval_loss"][0][0] == 3 and s["eval_loss"][0][1] != s["eval_loss"][0][1]  # NaN: a gap


def test_torn_last_line_is_dropped_and_appending_continues(tmp_path):
    h = History(tmp_path)
    h.log(1, {"loss": 0.5})
    h.close()
    with open(tmp_path / HISTORY_FILE, "a") as f:
        f.write('{"step": 2, "lo')  # killed mid-write
    assert _steps(read_history(tmp_path), "loss") == [1]
    h = History(tmp_path)
    h.log(2, {"loss": 0.4})
    h.close()
    text = (tmp_path / HISTORY_FILE).read_text()
    assert text.count("\n") == 2 and '"lo\n' not in text
    assert _steps(read_history(tmp_path), "loss") == [1, 2]


def test_replayed_steps_are_dropped_per_value(tmp_path):
    """A run died at step 7 after a checkpoint at 5; the next process logs from 6 again."""
    h = History(tmp_path)
    for s in range(1, 8):
        h.log(s, {"loss": float(s)})
        if s % 3 == 0:
            h.log(s, {"eval_loss": s / 10})
        if s <= 2:
            h.log(s, {"vae_mse": 1.0})
    h.close()
    h = History(tmp_path)  # resumed: loss from 6, eval at 6 (its cadence), vae loop not rerun
    for s in range(6, 10):
        h.log(s, {"loss": s + 0.5})
        if s % 3 == 0:
            h.log(s, {"eval_loss": s / 100})
    h.close()
    recs = read_history(tmp_path)
    loss = dict(series(recs)["loss"])
    assert sorted(Counter(_steps(recs, "loss")).values()) == [1] * 9
    assert list(loss) == list(range(1, 10)) and loss[5] == 5.0 and loss[6] == 6.5
    assert _steps(recs, "eval_loss") == [3, 6, 9] and dict(series(recs)["eval_loss"])[6] == 0.06
    assert _steps(recs, "vae_mse") == [1, 2]  # another loop's values are left alone


def test_explicit_resume_drops_everything_after_the_checkpoint(tmp_path):
    h = History(tmp_path)
    for s in range(1, 11):
        h.log(s, {"loss": float(s)})
        if s % 4 == 0:
            h.log(s, {"eval_loss": 0.1})
    h.log_media(10, {"grid": "grid.png"})
    h.close()
    h = History(tmp_path)
    h.resume(6)
    assert max(r["step"] for r in read_history(tmp_path)) == 6
    for s in range(9, 11):  # a stage that logs only every few steps
        h.log(s, {"loss": -float(s)})
    h.close()
    recs = read_history(tmp_path)
    assert _steps(recs, "loss") == [1, 2, 3, 4, 5, 6, 9, 10]
    assert _steps(recs, "eval_loss") == [4] and not any("media" in r for r in recs)


# ---------------------------------------------------------------------------------------
# a real stage, killed with SIGKILL, resumed by `almost run`'s machinery
# ---------------------------------------------------------------------------------------
SCRIPT = textwrap.dedent('''
    import os, signal, sys
    import attrs
    import torch
    from almost.train.checkpoint import Checkpoints
    from almost.config import field
    from almost.runs import Pipeline, Stage, run_pipeline

    @attrs.define
    class Cfg:
        steps: int = field(20, help="steps")

    def train(ctx):
        acc = ctx.accelerator()
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        model, opt = acc.prepare(model, opt)
        ckpts = Checkpoints(ctx.stage_dir() / "checkpoints", acc)
        start = int((ckpts.load() or {}).get("step", 0))
        x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
        y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
        for step in range(start + 1, ctx.config.steps + 1):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            acc.backward(loss)
            opt.step()
            ctx.log_step(step, loss=loss.item(), lr=0.05)
            if step % 5 == 0:
                with torch.no_grad():
                    ctx.log_step(step, eval_loss=float(((model(x[:8]) - y[:8]) ** 2).mean()))
            if step % 4 == 0:
                ckpts.save(step)
            if os.environ.get("KILL_AT") == str(step):
                path = ctx.stage_dir() / "history.jsonl"
                with open(path, "a") as f:
                    f.write('{"step": %d, "loss": 0.' % (step + 1))  # torn, as a kill mid-write leaves it
                os.kill(os.getpid(), signal.SIGKILL)
        ctx.log_metrics(loss=loss.item())

    p = Pipeline("toy", [Stage("train", train)], {"tiny": Cfg})
    if __name__ == "__main__":
        run_pipeline(p, None, out=sys.argv[1])
''')


def _run(script: Path, out: Path, kill_at: int | None) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ALMOST_NO_PROGRESS": "1"}
    env.pop("KILL_AT", None)
    if kill_at is not None:
        env["KILL_AT"] = str(kill_at)
    r = subprocess.run([sys.executable, str(script), str(out)], env=env, capture_output=True, text=True, timeout=300)
    if kill_at is None:
        assert r.returncode == 0, r.stderr[-3000:]
    return r.returncode


@pytest.mark.slow
def test_killed_and_resumed_stage_has_each_step_exactly_once(tmp_path, monkeypatch):
    script = tmp_path / "toy.py"
    script.write_text(SCRIPT)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    toy: dict = {"__name__": "toy"}
    exec(compile(SCRIPT, str(script), "exec"), toy)  # the uninterrupted reference, in this process
    monkeypatch.setenv("ALMOST_NO_PROGRESS", "1")
    run_pipeline(toy["p"], None, out=clean)
    assert _run(script, killed, kill_at=10) == -signal.SIGKILL
    torn = (killed / "train" / HISTORY_FILE).read_text()
    assert not torn.endswith("\n") and _steps(read_history(killed / "train"), "loss") == list(range(1, 11))
    _run(script, killed, None)  # resumes from the checkpoint at step 8

    recs = read_history(killed / "train")
    loss_steps = _steps(recs, "loss")
    assert loss_steps == list(range(1, 21)), loss_steps  # each once, in order, none missing
    assert _steps(recs, "eval_loss") == [5, 10, 15, 20]
    text = (killed / "train" / HISTORY_FILE).read_text()
    assert all(json.loads(line) for line in text.splitlines())  # the torn line is gone
    # the resumed run continued the same training: the curve equals the uninterrupted one
    a, b = dict(series(read_history(clean / "train"))["loss"]), dict(series(recs)["loss"])
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-6 for k in a)
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["stages"]["train"]["status"] == "done"


# moved from test_trust*.py (issues 10 and 27)
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
