"""Stage ``train``: fit the action-conditioned diffusion UNet on latent windows.

Step-based (``train.steps`` optimizer steps, no epochs) through accelerate: mixed precision,
gradient accumulation and several GPUs (``accelerate launch``) come from the same code. Each
step: pick windows uniformly over the training episodes (a held-out split of episodes, kept
in ``train/split.json``, is never seen), noise the context with a random bucket σ, drop the
whole context with probability ``model.cfg_drop_prob``, noise the target at a random
timestep and regress v. Every random choice of micro-step s is drawn on the accelerator's
device from a generator seeded by (seed, process, s), so a resumed run continues exactly as an
uninterrupted one would. The loss stays on the device and is read back every
``train.log_every`` steps only (then checked: a NaN or infinite loss stops the stage with one
sentence, the last good checkpoint kept).

Writes ``train/checkpoints/step-*`` every ``train.checkpoint_every`` steps (resumable) and the
final model, EMA weights when ``train.ema_decay`` > 0, to ``train/model/`` (diffusers layout,
see :mod:`almost_gamengen.model.world_model`).
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from almost.io import atomic_write_json, read_json

SPLIT = "split.json"


def run(ctx) -> None:
    """The stage: the training windows (``train.dataset``) and the trainer (``train.trainer``),
    both from the registry, then the trainer's final metrics reported."""
    from ..components import registry_of
    from ..model.latents import LatentStore, split_episodes

    cfg, tcfg = ctx.config, ctx.config.train
    store = LatentStore(ctx.find_stage_dir("encode") / "latents")
    split = split_episodes(store.episode_ids(), tcfg.heldout_fraction, cfg.seed)
    registry = registry_of(ctx)
    data = registry.create(tcfg.dataset, "dataset", root=store.root, context=cfg.model.context, episodes=split[0])
    trainer = registry.create(tcfg.trainer, "trainer", ctx=ctx, dataset=data, store=store, split=split)
    metrics = trainer.fit()
    if metrics:
        ctx.log_metrics(**metrics)


class WorldModelTrainer:
    """``trainer/gamengen-worldmodel``: fits the world model on ``dataset``'s windows (see the
    module doc). ``store`` is the latent store (the actions, latent shape and scaling factor the
    model is built for, and the held-out windows it is scored on); ``split`` is the (training,
    held-out) episode positions. Writes under ``ctx.stage_dir()``, logs ``ctx.log_step`` and
    the stage's metrics, and returns them; a finished one returns its metrics again."""

    def __init__(self, ctx, dataset, store, split) -> None:
        self.ctx, self.dataset, self.store = ctx, dataset, store
        self.train_pos, self.held_pos = (list(p) for p in split)
        self.output_dir = ctx.stage_dir()

    def fit(self) -> dict[str, float]:
        done = self._finished()
        if done is not None:
            return done
        t = self._setup()
        start, secs, loss_avg = self._loop(t)
        return self._finish(t, start, secs, loss_avg)

    def _finished(self) -> dict[str, float] | None:
        """The metrics of a model already trained to ``train.steps`` (None: train)."""
        from almost.observe.console import console

        model_dir = self.output_dir / "model"
        if not (model_dir / "world_model.json").is_file():
            return None
        done = read_json(model_dir / "world_model.json", "world model config", expect=dict).get("trained_steps")
        logged = _logged(self.output_dir)
        if done != self.ctx.config.train.steps or "heldout_loss" not in logged:  # a kill before its metrics
            return None
        console.print(f"train: {model_dir} already holds the model after {done} steps")
        return {k: float(v) for k, v in logged.items() if isinstance(v, int | float) and not isinstance(v, bool)}

    def _setup(self) -> _Training:
        """Accelerator, split file, model, optimizer, schedules, EMA, checkpoints (resumed)."""
        import torch
        from diffusers import DDPMScheduler

        from almost.observe.console import console
        from almost.train.checkpoint import Checkpoints
        from almost.train.threads import cpu_budget, set_threads

        from ..model.world_model import build_world_model, noise_scheduler_config

        ctx, store, out = self.ctx, self.store, self.output_dir
        cfg, mcfg, tcfg = ctx.config, ctx.config.model, ctx.config.train
        ids = store.episode_ids()
        acc = ctx.accelerator(mixed_precision=tcfg.mixed_precision,
                              gradient_accumulation_steps=tcfg.gradient_accumulation_steps)
        if acc.is_main_process:
            atomic_write_json(out / SPLIT, {"train": [ids[p] for p in self.train_pos],
                                            "heldout": [ids[p] for p in self.held_pos]})
        meta = {"action_names": store.action_names, "noop_action": store.noop_action,
                "latent_shape": list(store.latent_shape), "scaling_factor": store.scaling_factor,
                "seed": cfg.seed}
        if acc.device.type == "cpu":  # a GPU stage leaves the CPU threads alone
            set_threads(cpu_budget())
        model = build_world_model(mcfg, len(store.action_names), store.latent_shape[1:], cfg.seed, meta,
                                  latent_channels=store.latent_shape[0])
        if tcfg.gradient_checkpointing:
            model.unet.enable_gradient_checkpointing()
        noise_sched = DDPMScheduler.from_config(noise_scheduler_config(mcfg.train_timesteps))
        opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
        lr_sched = _lr_schedule(opt, tcfg, acc.num_processes)
        model, opt, lr_sched = acc.prepare(model, opt, lr_sched)
        ema = None
        if tcfg.ema_decay > 0:
            from diffusers.training_utils import EMAModel

            ema = EMAModel(acc.unwrap_model(model).parameters(), decay=tcfg.ema_decay)
            ema.to(acc.device)
            acc.register_for_checkpointing(ema)
        ckpts = Checkpoints(out / "checkpoints", acc, keep=tcfg.keep_checkpoints)
        state = ckpts.load() or {}
        if state.get("step"):
            console.print(f"train: resuming from step {int(state['step'])} ({ckpts.latest()})")
        t = _Training(acc, model, acc.unwrap_model(model), opt, lr_sched, ema, ckpts, noise_sched, state)
        init_loss = state.get("heldout_loss_init")
        if init_loss is None:  # the same held-out windows and noise as the final score
            init_loss = self._heldout(t)
        t.init_loss = init_loss
        return t

    def _heldout(self, t: _Training) -> float:
        cfg = self.ctx.config
        return _heldout_loss(t.core, self.store, self.held_pos or self.train_pos, t.noise_sched, cfg.model,
                             cfg.seed, t.acc.device)

    def _loop(self, t: _Training) -> tuple[int, float, float | None]:
        """The optimizer steps from the checkpoint to ``train.steps``; returns the start step,
        the seconds and the last logged loss."""
        import torch
        from torch.utils.data import DataLoader

        from almost.observe.console import progress

        from ..cpu_share import ThreadRetune
        from ..model.latents import StepBatches

        ctx, cfg, tcfg, acc = self.ctx, self.ctx.config, self.ctx.config.train, t.acc
        start = int(t.state.get("step", 0))
        accum = tcfg.gradient_accumulation_steps
        batches = StepBatches(len(self.dataset), tcfg.batch_size, cfg.seed, start * accum, tcfg.steps * accum,
                              rank=acc.process_index)
        loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=tcfg.num_workers)
        step, t0, loss_avg = start, time.time(), t.state.get("loss")
        loss_sum, loss_n = None, 0  # on the device; read back every log_every steps
        t.model.train()
        retune = ThreadRetune(enabled=acc.device.type == "cpu")  # threads follow the idle cores as it runs
        with progress() as bar:
            task = bar.add_task("train world model", total=tcfg.steps, completed=start, info="")
            for micro, batch in enumerate(loader, start=start * accum):
                g = torch.Generator(acc.device).manual_seed(_seed(cfg.seed, acc.process_index, micro))
                if not self._micro_step(t, batch, g):
                    continue
                step += 1
                d = t.last_loss
                loss_sum, loss_n = (d if loss_sum is None else loss_sum + d), loss_n + 1
                if step % tcfg.log_every == 0 or step == tcfg.steps or step % tcfg.checkpoint_every == 0:
                    lv = ctx.check_finite(loss_sum / loss_n, step=step)  # the one host sync
                    loss_avg, loss_sum, loss_n = lv, None, 0
                    bar.update(task, info=f"loss {loss_avg:.4f}")
                    ctx.log_step(step, loss=loss_avg, lr=t.lr_sched.get_last_lr()[0],
                                 steps_per_s=(step - start) / max(time.time() - t0, 1e-9))
                bar.update(task, advance=1)
                retune()
                if step % tcfg.checkpoint_every == 0 and step < tcfg.steps:
                    t.ckpts.save(step, {"loss": loss_avg, "heldout_loss_init": t.init_loss})
        t.thread_changes, t.step = retune.changes, step
        return start, time.time() - t0, loss_avg

    def _micro_step(self, t: _Training, batch, g) -> bool:
        """One micro-batch; True when it completed an optimizer step (then ``t.last_loss``)."""
        acc, tcfg = t.acc, self.ctx.config.train
        with acc.accumulate(t.model):
            loss = _loss(t.core, t.model, batch, t.noise_sched, g, acc.device)
            acc.backward(loss)
            if acc.sync_gradients:
                acc.clip_grad_norm_(t.model.parameters(), tcfg.max_grad_norm)
            t.opt.step()
            t.lr_sched.step()
            t.opt.zero_grad(set_to_none=True)
        if not acc.sync_gradients:
            return False
        if t.ema is not None:
            t.ema.step(t.core.parameters())
        t.last_loss = loss.detach()
        return True

    def _finish(self, t: _Training, start: int, secs: float, loss_avg) -> dict[str, float]:
        """The final model (EMA weights when kept), its held-out loss, the metrics."""
        import torch

        from almost.observe.console import console

        from ..model.world_model import WorldModel

        ctx, tcfg, acc, core = self.ctx, self.ctx.config.train, t.acc, t.core
        acc.wait_for_everyone()
        if t.ema is not None:
            t.ema.copy_to(core.parameters())
        core.meta["trained_steps"] = tcfg.steps
        heldout_loss = self._heldout(t)
        if t.step > start:  # collective: every process takes part in a checkpoint save
            t.ckpts.save(t.step, {"loss": loss_avg, "heldout_loss_init": t.init_loss})
        if not acc.is_main_process:
            return {}
        model_dir = self.output_dir / "model"
        WorldModel.save(core, model_dir, dict(t.noise_sched.config))
        ctx.add_artifact(model_dir, "world model")
        metrics = dict(steps=tcfg.steps, resumed_from_step=start,
                       loss_final=loss_avg if loss_avg is not None else float("nan"),
                       heldout_loss=heldout_loss, heldout_loss_init=t.init_loss, train_windows=len(self.dataset),
                       heldout_episodes=len(self.held_pos), seconds=round(secs, 2),
                       steps_per_s=(t.step - start) / max(secs, 1e-9), threads=torch.get_num_threads(),
                       thread_changes=t.thread_changes,
                       params_m=sum(p.numel() for p in core.parameters()) / 1e6)
        ctx.log_metrics(**metrics)  # logged here too: a second fit() finds them (a kill before: trains on)
        console.print(f"train: model saved to {model_dir} (held-out loss {heldout_loss:.4f})")
        return {k: float(v) for k, v in metrics.items()}


@attrs.define
class _Training:
    """What one fit() trains with: the accelerator, the prepared model (and its unwrapped core),
    optimizer, schedules, EMA, checkpoints, the noise schedule and the resumed state."""

    acc: Any
    model: Any
    core: Any
    opt: Any
    lr_sched: Any
    ema: Any
    ckpts: Any
    noise_sched: Any
    state: dict
    init_loss: float | None = None
    last_loss: Any = None
    step: int = 0
    thread_changes: int = 0


def _logged(out) -> dict:
    """The metrics this stage folder has logged (the core keeps a copy in it)."""
    import json

    from almost.runs import STAGE_METRICS

    try:
        data = json.loads((out / STAGE_METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _lr_schedule(opt, tcfg, processes: int):
    """Linear warm-up, then constant or cosine decay to 0 at ``train.steps``.

    accelerate steps a prepared scheduler once per process for every optimizer step (it
    assumes the schedule was written for the global batch), so lengths are scaled by the
    number of processes: the schedule ends at ``train.steps`` on 1 GPU or 8."""
    warm = max(tcfg.warmup_steps, 1) * processes
    if tcfg.lr_schedule == "cosine":
        from diffusers.optimization import get_cosine_schedule_with_warmup

        return get_cosine_schedule_with_warmup(opt, warm, tcfg.steps * processes)
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))


def _seed(*parts: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence(list(parts)).generate_state(1, dtype=np.uint64)[0] >> 1)


def _loss(core, model, batch, noise_sched, g, device):
    """v-prediction MSE on one batch, with context noise and whole-context dropout."""
    import torch

    context = batch["context"].to(device)
    target = core.to_target(batch["target"].to(device), context)  # x, or the scaled change
    b = target.shape[0]
    gd = g.device
    bucket = torch.randint(0, core.buckets, (b,), generator=g, device=gd).to(device)
    context = core.noise_context(context, bucket, generator=g)
    drop = (torch.rand(b, generator=g, device=gd) < core.cfg_drop_prob).to(device)
    context = core.drop_context(context, drop)
    mask = batch["mask"].to(device)
    if core.action_drop_prob > 0:  # drawn only when on: runs without it keep their random stream
        hide = (torch.rand(b, generator=g, device=gd) < core.action_drop_prob).to(device)
        mask = core.hide_action(mask, hide)
    noise = torch.randn(target.shape, generator=g, device=gd).to(device)
    t = torch.randint(0, noise_sched.config.num_train_timesteps, (b,), generator=g, device=gd).to(device)
    noisy = noise_sched.add_noise(target, noise, t)
    v = noise_sched.get_velocity(target, noise, t)
    pred = model(noisy, t, context, batch["actions"].to(device), mask, bucket)
    return torch.nn.functional.mse_loss(pred.float(), v.float())


def _heldout_loss(core, store, positions, noise_sched, mcfg, seed, device, batches: int = 4) -> float:
    """Mean v-loss on fixed held-out windows (fixed noise): comparable between runs."""
    import torch

    from ..model.latents import StepBatches, WindowDataset

    data = WindowDataset(store, mcfg.context, positions)
    core.eval()
    total = 0.0
    with torch.no_grad():
        for k, idx in enumerate(StepBatches(len(data), 16, seed + 1, 0, batches)):
            batch = torch.utils.data.default_collate([data[i] for i in idx])
            g = torch.Generator(device).manual_seed(seed + 10_000 + k)
            total = total + _loss(core, core, batch, noise_sched, g, device)
    core.train()
    return float(total) / batches
