"""Trackers (almost.observe.tracking): ``--set track.with=...`` through accelerate's tracker classes."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import attrs
import numpy as np
import pytest

from almost.config import field
from almost.errors import ConfigError
from almost.observe.history import read_history, series
from almost.observe.tracking import TRACKERS, TrackConfig, resolve_track, track_toml
from almost.runs import Pipeline, Stage, run_pipeline
from almost.testing import run_cli


def test_track_section_from_sets_and_file(tmp_path):
    assert resolve_track() == TrackConfig()  # default: no tracker, nothing sent anywhere
    t = resolve_track(sets=["train.steps=3", "track.with=tensorboard", "track.project=mine"])
    assert t.trackers == ("tensorboard",) and t.project == "mine"
    f = tmp_path / "c.toml"
    f.write_text('[track]\nwith = ["tensorboard", "tensorboard"]\nmedia = false\n')
    t = resolve_track(f)
    assert t.trackers == ("tensorboard",) and t.media is False
    assert resolve_track(f, ["track.with=none"]).trackers == ()


def test_track_mistakes_are_one_sentence(monkeypatch):
    with pytest.raises(ConfigError, match=r"track.with names an unknown tracker 'tensorbord'; trackers: .*tensorboard"):
        resolve_track(sets=["track.with=tensorbord"])
    with pytest.raises(ConfigError, match="unknown config key 'track.wiht'"):
        resolve_track(sets=["track.wiht=wandb"])
    monkeypatch.setitem(TRACKERS, "tensorboard", (("no_such_module_xyz",), "pip install 'almost-core[tensorboard]'"))
    with pytest.raises(ConfigError, match=r"its package is not installed; pip install 'almost-core\[tensorboard\]'"):
        resolve_track(sets=["track.with=tensorboard"])


def test_accelerate_knows_every_tracker_name():
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS

    assert set(TRACKERS) <= set(LOGGER_TYPE_TO_CLASS)


def test_almost_config_prints_a_valid_track_section(tmp_path):
    code, out, err = run_cli(["config", "--plugin", "irgen"])
    assert code == 0, err
    assert "# [track]" in out and "track.with" in out
    tomllib.loads(out)  # commented out by default: still valid TOML
    code, out, err = run_cli(["config", "--plugin", "irgen", "--set", "track.with=tensorboard"])
    assert code == 0, err
    data = tomllib.loads(out)
    assert data["track"]["with"] == ["tensorboard"]
    f = tmp_path / "c.toml"
    f.write_text(out)  # the printed config is a valid --config file, track section included
    code, out2, err = run_cli(["config", "--plugin", "irgen", "--config", str(f)])
    assert code == 0, err
    assert tomllib.loads(out2) == data
    code, _, err = run_cli(["config", "--plugin", "irgen", "--set", "track.with=nope"])
    assert code != 0 and "unknown tracker 'nope'" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------
# TensorBoard: the event files hold what the history holds
# ---------------------------------------------------------------------------------------
def read_events(folder: Path) -> tuple[dict[str, list[tuple[int, float]]], dict[str, bytes]]:
    """Scalars ``{tag: [(step, value), ...]}`` (every point TensorBoard would draw) and images
    ``{tag: encoded bytes}`` of TensorBoard event files (TFRecord framing: length, crc, Event
    proto, crc)."""
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, list[tuple[int, float]]] = {}
    images: dict[str, bytes] = {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    assert files, f"no event files in {folder}"
    for path in files:
        data = path.read_bytes()
        i = 0
        while i + 12 <= len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            ev = Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            if ev.HasField("session_log") and ev.session_log.status == ev.session_log.START:
                # a restart (SummaryWriter(purge_step=N)): TensorBoard drops what came at >= N
                for tag in scalars:
                    scalars[tag] = [(s, v) for s, v in scalars[tag] if s < ev.step]
            for v in ev.summary.value:
                if v.HasField("image"):
                    images[v.tag] = v.image.encoded_image_string
                elif v.HasField("simple_value") or v.WhichOneof("value") == "simple_value":
                    scalars.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return scalars, images


def _gif(path: Path, frames: int = 4) -> Path:
    from PIL import Image

    imgs = [Image.fromarray(np.full((16, 20, 3), 40 * k, np.uint8)) for k in range(frames)]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=100, loop=0)
    return path


@attrs.define
class ToyCfg:
    steps: int = field(12, help="steps")


def _toy_train(ctx):
    rng = np.random.default_rng(0)
    w = 0.0
    for step in range(1, ctx.config.steps + 1):
        x = rng.normal(size=32)
        grad = float(np.mean(2 * (w * x - 3 * x) * x))
        w -= 0.1 * grad
        ctx.log_step(step, loss=float(np.mean((w * x - 3 * x) ** 2)), lr=0.1 / step, grad_norm=abs(grad))
        if step % 4 == 0:
            ctx.log_step(step, eval_loss=(w - 3) ** 2)
    gif = _gif(ctx.stage_dir() / "samples.gif")
    ctx.log_media(ctx.config.steps, samples=gif)
    ctx.add_artifact(_gif(ctx.stage_dir() / "final.gif", frames=2), "final GIF (w)")  # an artifact picture: logged too
    ctx.log_metrics(w=w)


def _toy_decoder(ctx):
    for step in range(1, 6):
        ctx.log_step(step, loss=1.0 / step)


TOY = Pipeline("toy", [Stage("train", _toy_train), Stage("decoder", _toy_decoder)], {"tiny": ToyCfg})


@pytest.mark.slow
def test_tensorboard_events_hold_the_history(tmp_path, monkeypatch):
    monkeypatch.setenv("ALMOST_NO_PROGRESS", "1")
    run_pipeline(TOY, None, out=tmp_path / "run", sets=["track.with=tensorboard"])
    run = tmp_path / "run"
    for stage in ("train", "decoder"):
        hist = series(read_history(run / stage))
        scalars, images = read_events(run / "tensorboard" / stage)
        assert set(scalars) == {f"{stage}/{k}" for k in hist}
        for key, points in hist.items():
            got = scalars[f"{stage}/{key}"]
            assert [s for s, _ in got] == [s for s, _ in points]
            for (_, a), (_, b) in zip(got, points):  # TensorBoard stores float32
                assert a == pytest.approx(b, rel=1e-6, abs=1e-12)
    _, images = read_events(run / "tensorboard" / "train")
    gif = images["train/samples"]
    assert gif[:6] == b"GIF89a" and gif == (run / "train" / "samples.gif").read_bytes()  # animated, as written
    assert images["train/final_GIF_w"] == (run / "train" / "final.gif").read_bytes()


@pytest.mark.slow
def test_no_tracker_writes_only_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ALMOST_NO_PROGRESS", "1")
    run_pipeline(TOY, None, out=tmp_path / "run")
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert len(read_history(tmp_path / "run" / "decoder")) == 5


def test_track_toml_default_is_commented():
    text = track_toml(TrackConfig())
    assert all(line.startswith("#") or not line.strip() for line in text.splitlines())
    assert tomllib.load(io.BytesIO(track_toml(TrackConfig(("tensorboard",))).encode()))["track"]["with"] == ["tensorboard"]


KILLED = textwrap.dedent('''
    import json, os, signal, sys, time
    import attrs
    from almost.config import field
    from almost.runs import Pipeline, Stage, run_pipeline

    # a loaded machine: tensorboardX's writer thread lags behind the training loop
    from tensorboardX.event_file_writer import EventsWriter
    _write = EventsWriter.write_event
    def slow_write(self, event):
        time.sleep(0.05)
        return _write(self, event)
    EventsWriter.write_event = slow_write

    @attrs.define
    class Cfg:
        steps: int = field(16, help="steps")

    def train(ctx):
        state_file = ctx.stage_dir() / "state.json"  # a checkpoint every 4 steps
        state = json.loads(state_file.read_text()) if state_file.exists() else {"step": 0, "w": 0.0}
        w = state["w"]
        for step in range(state["step"] + 1, ctx.config.steps + 1):
            w += 0.5 * (3.0 - w)
            # the killed run's steps after its checkpoint differ (as on a GPU): they must not show
            ctx.log_step(step, loss=(3.0 - w) ** 2 + (100.0 if os.environ.get("KILL_AT") else 0.0), w=w)
            if step % 4 == 0:
                ctx.flush_logs()  # before the checkpoint counts (almost.train.checkpoint.Checkpoints does this itself)
                state_file.write_text(json.dumps({"step": step, "w": w}))
            if os.environ.get("KILL_AT") == str(step):
                os.kill(os.getpid(), signal.SIGKILL)  # no grace: whatever is still queued is lost

    p = Pipeline("toy", [Stage("train", train)], {"tiny": Cfg})
    run_pipeline(p, None, out=sys.argv[1], sets=["track.with=tensorboard"])
''')


@pytest.mark.slow
def test_tensorboard_after_kill_and_resume_shows_each_step_once(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ALMOST_NO_PROGRESS": "1"}
    r = subprocess.run([sys.executable, str(script), str(run)], env={**env, "KILL_AT": "10"}, capture_output=True, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    r = subprocess.run([sys.executable, str(script), str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    hist = series(read_history(run / "train"))
    assert [s for s, _ in hist["loss"]] == list(range(1, 17))
    scalars, _ = read_events(run / "tensorboard" / "train")
    assert len(list((run / "tensorboard" / "train").glob("events.out.tfevents.*"))) == 2
    for key, points in hist.items():  # steps 9 and 10 were logged twice: TensorBoard keeps the resumed ones
        got = scalars[f"train/{key}"]
        files = sorted(p.name for p in (run / "tensorboard" / "train").glob("events.out.tfevents.*"))
        assert [s for s, _ in got] == list(range(1, 17)), (got, files)  # each step once
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6)
