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

from almost.io import atomic_write_json, read_json

SPLIT = "split.json"


def run(ctx) -> None:
    import torch
    from diffusers import DDPMScheduler
    from torch.utils.data import DataLoader

    from almost.observe.console import console, progress
    from almost.train.checkpoint import Checkpoints

    from ..model.latents import LatentStore, StepBatches, WindowDataset, split_episodes
    from ..model.world_model import WorldModel, build_world_model, noise_scheduler_config

    cfg, mcfg, tcfg = ctx.config, ctx.config.model, ctx.config.train
    out = ctx.stage_dir()
    store = LatentStore(ctx.find_stage_dir("encode") / "latents")
    model_dir = out / "model"
    if (model_dir / "world_model.json").is_file():
        done = read_json(model_dir / "world_model.json", "world model config", expect=dict).get("trained_steps")
        if done == tcfg.steps and "heldout_loss" in _logged(out):  # a kill before its metrics: finish them
            console.print(f"train: {model_dir} already holds the model after {done} steps")
            return

    # -- data: held-out split of episodes, windows over the rest --------------------------
    train_pos, held_pos = split_episodes(store.episode_ids(), tcfg.heldout_fraction, cfg.seed)
    ids = store.episode_ids()
    acc = ctx.accelerator(mixed_precision=tcfg.mixed_precision,
                          gradient_accumulation_steps=tcfg.gradient_accumulation_steps)
    if acc.is_main_process:
        atomic_write_json(out / SPLIT, {"train": [ids[p] for p in train_pos],
                                        "heldout": [ids[p] for p in held_pos]})
    data = WindowDataset(store, mcfg.context, train_pos)

    # -- model, optimizer, schedules ------------------------------------------------------
    meta = {"action_names": store.action_names, "noop_action": store.noop_action,
            "latent_shape": list(store.latent_shape), "scaling_factor": store.scaling_factor,
            "seed": cfg.seed}
    from almost.train.threads import cpu_budget, set_threads

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
    start = int(state.get("step", 0))
    if start:
        console.print(f"train: resuming from step {start} ({ckpts.latest()})")

    init_loss = state.get("heldout_loss_init")
    if init_loss is None:  # the same held-out windows and noise as the final score
        init_loss = _heldout_loss(acc.unwrap_model(model), store, held_pos or train_pos, noise_sched,
                                  mcfg, cfg.seed, acc.device)
    accum = tcfg.gradient_accumulation_steps
    batches = StepBatches(len(data), tcfg.batch_size, cfg.seed, start * accum, tcfg.steps * accum,
                          rank=acc.process_index)
    loader = DataLoader(data, batch_sampler=batches, num_workers=tcfg.num_workers)
    core = acc.unwrap_model(model)
    step, t0, loss_avg = start, time.time(), state.get("loss")
    loss_sum, loss_n = None, 0  # on the device; read back every log_every steps
    model.train()
    from ..cpu_share import ThreadRetune

    retune = ThreadRetune(enabled=acc.device.type == "cpu")  # threads follow the idle cores as it runs
    with progress() as bar:
        task = bar.add_task("train world model", total=tcfg.steps, completed=start, info="")
        for micro, batch in enumerate(loader, start=start * accum):
            g = torch.Generator(acc.device).manual_seed(_seed(cfg.seed, acc.process_index, micro))
            with acc.accumulate(model):
                loss = _loss(core, model, batch, noise_sched, g, acc.device)
                acc.backward(loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(model.parameters(), tcfg.max_grad_norm)
                opt.step()
                lr_sched.step()
                opt.zero_grad(set_to_none=True)
            if not acc.sync_gradients:
                continue
            step += 1
            if ema is not None:
                ema.step(core.parameters())
            d = loss.detach()
            loss_sum, loss_n = (d if loss_sum is None else loss_sum + d), loss_n + 1
            if step % tcfg.log_every == 0 or step == tcfg.steps or step % tcfg.checkpoint_every == 0:
                lv = ctx.check_finite(loss_sum / loss_n, step=step)  # the one host sync
                loss_avg, loss_sum, loss_n = lv, None, 0
                bar.update(task, info=f"loss {loss_avg:.4f}")
                ctx.log_step(step, loss=loss_avg, lr=lr_sched.get_last_lr()[0],
                             steps_per_s=(step - start) / max(time.time() - t0, 1e-9))
            bar.update(task, advance=1)
            retune()
            if step % tcfg.checkpoint_every == 0 and step < tcfg.steps:
                ckpts.save(step, {"loss": loss_avg, "heldout_loss_init": init_loss})
    secs = time.time() - t0

    # -- final model + held-out loss ------------------------------------------------------
    acc.wait_for_everyone()
    if ema is not None:
        ema.copy_to(core.parameters())
    core.meta["trained_steps"] = tcfg.steps
    heldout_loss = _heldout_loss(core, store, held_pos or train_pos, noise_sched, mcfg, cfg.seed, acc.device)
    if step > start:  # collective: every process takes part in a checkpoint save
        ckpts.save(step, {"loss": loss_avg, "heldout_loss_init": init_loss})
    if acc.is_main_process:
        WorldModel.save(core, model_dir, dict(noise_sched.config))
        ctx.add_artifact(model_dir, "world model")
        ctx.log_metrics(steps=tcfg.steps, resumed_from_step=start,
                        loss_final=loss_avg if loss_avg is not None else float("nan"),
                        heldout_loss=heldout_loss, heldout_loss_init=init_loss, train_windows=len(data),
                        heldout_episodes=len(held_pos), seconds=round(secs, 2),
                        steps_per_s=(step - start) / max(secs, 1e-9), threads=torch.get_num_threads(),
                        thread_changes=retune.changes,
                        params_m=sum(p.numel() for p in core.parameters()) / 1e6)
        console.print(f"train: model saved to {model_dir} (held-out loss {heldout_loss:.4f})")


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
