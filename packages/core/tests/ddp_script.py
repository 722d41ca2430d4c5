"""Run by test_distributed.py under `accelerate launch --cpu --num_processes 2`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs
import torch

import almost
from almost.plugins import load
from almost.runs import run_pipeline
from almost.train.checkpoint import Checkpoints


@attrs.define
class Cfg:
    steps: int = 3


def train(ctx):
    acc = ctx.accelerator(cpu=True)
    torch.manual_seed(acc.process_index)  # different init per rank: DDP must broadcast rank 0's
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model, opt = acc.prepare(model, opt)
    ck = Checkpoints(ctx.stage_dir() / "ckpt", acc)
    state = ck.load() or {"step": 0}
    g = torch.Generator().manual_seed(100 + acc.process_index)  # different data per rank
    for step in range(state["step"], ctx.config.steps):
        x = torch.randn(8, 4, generator=g)
        loss = model(x).pow(2).mean()
        acc.backward(loss)
        opt.step()
        opt.zero_grad()
        ck.save(step + 1)
    w = acc.unwrap_model(model).weight.detach().flatten().tolist()
    out = Path(sys.argv[1]) / f"rank{acc.process_index}.json"
    out.write_text(json.dumps({"weight": w, "world": acc.num_processes, "checkpoints": len(ck.all())}))
    ctx.log_metrics(steps=ctx.config.steps)


class P:
    @almost.hookimpl
    def almost_pipelines(self, register):
        register(almost.Pipeline(name="ddp", stages=[almost.Stage("train", train)], profiles={"tiny": Cfg}))


if __name__ == "__main__":
    app = load(extra={"ddp": P()}, env={"ALMOST_PLUGINS": "ddp"})
    run_pipeline(app.pipeline("ddp"), app.registry, out=Path(sys.argv[1]) / "run")
