"""A tiny real training pipeline for the run-safety tests (test_driver.py, test_rundir.py, test_checkpoint.py... through trusty.py).

``prep`` writes a data file, ``train`` fits a 4→1 linear model with accelerate and
:class:`almost.train.checkpoint.Checkpoints` (resumable, seeded), ``report`` reads ``train``'s
weights. Config fields let a test stop the training at a step (KeyboardInterrupt or a real
signal to this process), poison the data with NaN, or stop between the artifact and the
metrics. Also runnable as a script (``python trust_plugin.py ARGS...`` = ``almost ARGS``
with this plugin installed), for the signal tests.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import attrs

import almost
from almost.config import field


@attrs.define
class TrainyConfig:
    seed: int = field(0, help="seed of the init and the data order")
    steps: int = field(6, help="optimizer steps", ge=1)
    lr: float = field(0.1, help="learning rate", gt=0)
    every: int = field(2, help="checkpoint every N steps", ge=1)
    keep: int = field(0, help="checkpoints kept (0: all)", ge=0)
    reward: str = field("const", help="a reward component (checked at config time)", component="reward")
    sleep: float = field(0.0, help="test hook: seconds per step", ge=0)
    nan_at: int = field(0, help="test hook: the data turns NaN from this step on")


def _hook(name: str) -> str:
    """Test hooks come from the environment, so a resumed run has the same config:
    TRAINY_STOP_AT=N (KeyboardInterrupt before step N), TRAINY_SIGNAL_AT=N with
    TRAINY_SIG=TERM|INT (a real signal to this process), TRAINY_STOP_AFTER_ARTIFACT=1,
    TRAINY_KILL_AFTER_ARTIFACT=1 / TRAINY_KILL_AFTER_METRICS=1 (kill -9)."""
    return os.environ.get(f"TRAINY_{name}", "")


def prep(ctx):
    import torch

    g = torch.Generator().manual_seed(ctx.config.seed)
    x = torch.randn(64, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
    torch.save({"x": x, "y": y}, ctx.stage_dir() / "data.pt")
    ctx.log_metrics(rows=64)


def train(ctx):
    import torch

    from almost.observe.console import progress
    from almost.train.checkpoint import Checkpoints, save_safetensors

    cfg = ctx.config
    data = torch.load(ctx.find_stage_dir("prep") / "data.pt")
    acc = ctx.accelerator(cpu=True)
    torch.manual_seed(cfg.seed)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    model, opt = acc.prepare(model, opt)
    ckpts = Checkpoints(ctx.stage_dir() / "checkpoints", acc, keep=cfg.keep or None)
    state = ckpts.load() or {"step": 0}
    start = state["step"]
    if start == 0:
        ctx.log_metrics(start_rows=float(len(data["x"])))  # logged once: must survive a resume
    g = torch.Generator().manual_seed(cfg.seed + 1)
    for _ in range(start):  # the data order continues where the checkpoint left it
        torch.randperm(64, generator=g)
    step = start
    loss = torch.tensor(0.0)
    stop_at, signal_at = int(_hook("STOP_AT") or 0), int(_hook("SIGNAL_AT") or 0)
    with progress() as bar:
        task = bar.add_task("train", total=cfg.steps, completed=step, info="")
        while step < cfg.steps:
            if stop_at and step + 1 == stop_at:
                raise KeyboardInterrupt
            if signal_at and step + 1 == signal_at:
                os.kill(os.getpid(), signal.SIGINT if _hook("SIG") == "INT" else signal.SIGTERM)
                time.sleep(5)  # the handler raises inside this sleep
            idx = torch.randperm(64, generator=g)[:16]
            x, y = data["x"][idx], data["y"][idx]
            if cfg.nan_at and step + 1 >= cfg.nan_at:
                x = x * float("nan")
            loss = torch.nn.functional.mse_loss(model(x), y)
            acc.backward(loss)
            opt.step()
            opt.zero_grad()
            step += 1
            bar.update(task, completed=step)
            if step % cfg.every == 0 or step == cfg.steps:
                ctx.check_finite(loss, step=step)
                ckpts.save(step)
            if cfg.sleep:
                time.sleep(cfg.sleep)
    weights = ctx.stage_dir() / "weights.safetensors"
    save_safetensors(acc.unwrap_model(model).state_dict(), weights)
    ctx.add_artifact(weights, "weights")
    if _hook("STOP_AFTER_ARTIFACT"):
        raise KeyboardInterrupt
    if _hook("KILL_AFTER_ARTIFACT"):  # kill -9 between the model and its metrics
        os.kill(os.getpid(), signal.SIGKILL)
    ctx.log_metrics(steps=step, resumed_from=start, loss=float(loss.detach()))
    if _hook("KILL_AFTER_METRICS"):  # kill -9 between the metrics and the stage's record
        os.kill(os.getpid(), signal.SIGKILL)


def report(ctx):
    from almost.train.checkpoint import load_safetensors

    w = load_safetensors(ctx.find_stage_dir("train") / "weights.safetensors")
    ctx.log_metrics(weight_sum=float(w["weight"].sum()))
    (ctx.stage_dir() / "report.txt").write_text("ok\n")


class Const:
    def __init__(self, value: float = 1.0):
        self.value = value


class TrainyPlugin:
    @almost.hookimpl
    def almost_pipelines(self, register):
        register(almost.Pipeline(
            name="trainy",
            stages=[almost.Stage("prep", prep), almost.Stage("train", train), almost.Stage("report", report)],
            profiles={"tiny": TrainyConfig},
        ))

    @almost.hookimpl
    def almost_register(self, registry):
        registry.add("reward", "const", Const, help="a constant (trust tests)")


def app():
    from almost.testing import load_app

    return load_app(extra={"trainy": TrainyPlugin()}, env={"ALMOST_PLUGINS": "trainy"})


if __name__ == "__main__":  # `python trust_plugin.py run --plugin trainy ...`
    from almost import cli, plugins

    the_app = app()
    plugins.get_app = lambda: the_app
    sys.exit(cli.main(sys.argv[1:]))
