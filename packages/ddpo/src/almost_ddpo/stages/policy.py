"""Stage ``policy``: DDPO — fine-tune a UNet LoRA so sampled images earn more reward.

Each epoch (Black et al. 2023, DDPO-IS; ddpo-pytorch's ``train.py``):

1. sample ``samples_per_epoch`` images with DDIM (η > 0) keeping every step's latent and
   log-probability (:func:`almost_ddpo.ddim.sample`);
2. score them with ``reward/NAME`` (``reward`` config key: the trained CNN ``human`` by default,
   or any registered reward) and turn rewards into advantages per prompt;
3. for ``inner_epochs`` passes, re-evaluate the log-probability of each stored step under the
   current LoRA and take a clipped PPO step (ratio clip ``clip_range``, advantages clipped to
   ±``adv_clip_max``) on a ``timestep_fraction`` of the steps. As in ddpo-pytorch, gradients
   of every trained timestep of ``gradient_accumulation_steps`` training batches are summed
   (averaged) before one optimizer step, clipped to ``max_grad_norm``.

Sampling and training use ``generate.steps`` and ``generate.guidance`` (the images the reward
model was trained on) unless ``policy.steps`` / ``policy.guidance`` are set on purpose. The
fresh LoRA is initialised from ``policy.seed``: the same config gives the same tensors. A loss
that stops being finite ends the stage with one sentence (the last good checkpoint is kept).
Every ``export.export_every`` epochs a kohya file ``kohya/ui_lora_epoch_NNN.safetensors`` is
written (the seed's fallback when a late epoch exploits the reward).

Rewards before and after are measured on the same prompts and seeds (``eval_seed``) and shown
side by side in ``before_after.png``. A checkpoint (LoRA, optimizer, scaler, RNG, epoch, stat
tracker) is saved every ``checkpoint_every`` epochs and none is deleted; an interrupted run
resumes from the latest. ``history.json`` has reward mean/std, approx KL and clip fraction per
epoch. The last round's exported LoRA, if any, is the starting point.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from almost.checkpoint import (
    Checkpoints,
    adapter_only_checkpoints,
    load_safetensors,
    save_safetensors,
)
from almost.console import console, progress
from almost.io import atomic_write_json

from ..advantages import PerPromptStatTracker, batch_advantages
from ..ddim import ddim_step_with_logprob, guided_eps, sample
from ..encoding import decode_latents, encode_prompts, latent_size
from ..loaders import load_pipeline
from .generate import previous_lora
from .pretrain import model_dir


def make_reward(ctx, pipe):
    name = ctx.config.reward
    key = name if "/" in name else f"reward/{name}"
    options = ctx.config.reward_options  # checked against the factory: unknown/missing ones are named
    if key == "reward/human":
        return ctx.registry.build(key, options, "reward", where="reward_options",
                                  model_dir=ctx.find_stage_dir("reward"), pipe=pipe, device=str(pipe.device))
    return ctx.registry.build(key, options, "reward", where="reward_options")


def rewards_of(reward_fn, images, prompts) -> torch.Tensor:
    return torch.as_tensor(reward_fn(images.float().cpu(), list(prompts)), dtype=torch.float32).reshape(-1)


def lora_params(unet):
    return [p for n, p in unet.named_parameters() if "lora_" in n]


def sampler_settings(config) -> tuple[int, float]:
    """DDIM steps and guidance of the policy: generate's unless the policy sets its own."""
    p, g = config.policy, config.generate
    return (p.steps if p.steps is not None else g.steps), (p.guidance if p.guidance is not None else g.guidance)


def attach_lora(unet, cfg, prev=None):
    """The previous round's LoRA (trainable), or a fresh one initialised from ``cfg.seed``."""
    from ..lora import add_lora, load_lora_into

    if prev is not None:
        console.print(f"continuing from the previous round's LoRA {prev}")
        return load_lora_into(unet, prev, trainable=True)
    return add_lora(unet, cfg.lora_rank, cfg.lora_alpha, cfg.lora_targets, seed=cfg.seed)


def write_epoch_kohya(unet, lora_cfg, folder: Path, epoch: int) -> Path:
    """kohya ``ui_lora_epoch_NNN.safetensors`` of the LoRA as it is now (the seed's naming)."""
    from ..lora import lora_state_dict, to_kohya

    sd = to_kohya(lora_state_dict(unet), float(lora_cfg.lora_alpha))
    return save_safetensors(sd, folder / f"ui_lora_epoch_{epoch:03d}.safetensors",
                            metadata={"ss_network_dim": str(lora_cfg.r), "ss_network_alpha": str(lora_cfg.lora_alpha),
                                      "ss_network_module": "networks.lora", "ss_epoch": str(epoch)})


def run(ctx) -> None:
    from ..lora import save_lora

    cfg = ctx.config.policy
    n_steps, guidance = sampler_settings(ctx.config)
    out = ctx.stage_dir()
    acc = ctx.accelerator(mixed_precision=cfg.mixed_precision)
    device = acc.device
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(acc.mixed_precision, torch.float32)
    pipe = load_pipeline(model_dir(ctx), "float32", str(device))
    if dtype != torch.float32:
        pipe.vae.to(dtype=dtype)
        pipe.text_encoder.to(dtype=dtype)
    pipe.vae.requires_grad_(False)
    pipe.text_encoder.requires_grad_(False)
    unet = pipe.unet
    lora_cfg = attach_lora(unet, cfg, previous_lora(ctx))
    if dtype != torch.float32:
        unet.to(dtype=dtype)
    for p in lora_params(unet):
        p.data = p.data.float()  # trainable LoRA weights stay in fp32 under mixed precision
    if cfg.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    reward_fn = make_reward(ctx, pipe)
    prompts = list(cfg.prompts or ctx.config.generate.prompts)
    h, w = latent_size(pipe, ctx.config.generate.height, ctx.config.generate.width)
    shape = (unet.config.in_channels, h, w)
    uncond1 = encode_prompts(pipe, [ctx.config.generate.negative_prompt])

    def run_sampling(ps, seeds, with_logprob=True):
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        cond = encode_prompts(pipe, ps)
        with acc.autocast():
            lat, traj, logp, ts = sample(unet, pipe.scheduler, cond, uncond1.expand(len(ps), -1, -1), shape,
                                         steps=n_steps, guidance=guidance, eta=cfg.eta, generators=gens,
                                         with_logprob=with_logprob)
            images = decode_latents(pipe, lat)
        return images, traj, logp, ts, cond

    # -- reward before, on fixed prompts and seeds ------------------------------------------------
    eval_prompts = [p for _ in range(cfg.eval_images_per_prompt) for p in prompts]
    eval_seeds = [cfg.eval_seed + i for i in range(len(eval_prompts))]

    def evaluate(tag: str):
        f = out / f"eval_{tag}.safetensors"
        if f.is_file():
            t = load_safetensors(f)
            return t["images"], t["rewards"]
        unet.eval()
        ims, rs = [], []
        for k in range(0, len(eval_prompts), cfg.sample_batch_size):
            im, *_ = run_sampling(eval_prompts[k:k + cfg.sample_batch_size], eval_seeds[k:k + cfg.sample_batch_size])
            ims.append(im.float().cpu())
            rs.append(rewards_of(reward_fn, im, eval_prompts[k:k + cfg.sample_batch_size]))
        images, rewards = torch.cat(ims), torch.cat(rs)
        save_safetensors({"images": images, "rewards": rewards}, f)
        return images, rewards

    before_images, before = evaluate("before")
    console.print(f"reward before DDPO ({ctx.config.reward}): {before.mean():.4f} ± {before.std():.4f}")

    # -- optimiser, checkpoints with only the LoRA inside ----------------------------------------
    opt = torch.optim.AdamW(lora_params(unet), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=1e-4, eps=1e-8)
    unet, opt = acc.prepare(unet, opt)

    adapter_only_checkpoints(acc, unet)  # checkpoints hold the LoRA only, not the UNet
    ckpts = Checkpoints(out / "checkpoints", acc)
    tracker = PerPromptStatTracker(cfg.stat_buffer, cfg.stat_min_count)
    state = ckpts.load()
    start, history = 0, []
    if state is not None:
        start, history = int(state["epoch"]), list(state["history"])
        tracker.load_state_dict(state["tracker"])
        console.print(f"resuming DDPO from epoch {start} ({ckpts.latest()})")

    n_train_steps = max(1, int(n_steps * cfg.timestep_fraction))
    export_every = ctx.config.export.export_every
    with progress() as bar:
        task = bar.add_task("DDPO epochs", total=cfg.epochs, completed=start, info="")
        for epoch in range(start, cfg.epochs):
            rng = np.random.default_rng([cfg.seed, epoch, acc.process_index])  # each GPU its own samples
            t0 = time.perf_counter()
            # 1. sample with log-probs
            unet.eval()
            batch = []
            for k in range(0, cfg.samples_per_epoch, cfg.sample_batch_size):
                n = min(cfg.sample_batch_size, cfg.samples_per_epoch - k)
                ps = [prompts[i] for i in rng.integers(len(prompts), size=n)]
                seeds = rng.integers(2**31 - 1, size=n)
                images, traj, logp, ts, cond = run_sampling(ps, seeds)
                batch.append({"prompts": ps, "traj": traj, "logp": logp, "cond": cond,
                              "rewards": rewards_of(reward_fn, images, ps)})
            prompts_e = [p for b in batch for p in b["prompts"]]
            rewards = torch.cat([b["rewards"] for b in batch])
            traj = torch.cat([b["traj"] for b in batch])
            old_logp = torch.cat([b["logp"] for b in batch])
            cond = torch.cat([b["cond"] for b in batch])
            # advantages from every process's rewards (one process: these are just ours)
            pid = torch.tensor([prompts.index(p) for p in prompts_e], device=device)
            all_r = acc.gather(rewards.to(device)).cpu().numpy()
            all_p = [prompts[i] for i in acc.gather(pid).cpu().tolist()]
            adv = tracker.update(all_p, all_r) if cfg.per_prompt_stats else batch_advantages(all_r)
            mine = slice(acc.process_index * len(rewards), (acc.process_index + 1) * len(rewards))
            adv = torch.as_tensor(adv[mine], dtype=torch.float32, device=device)
            adv = adv.clamp(-cfg.adv_clip_max, cfg.adv_clip_max)
            timesteps = ts.to(device)

            # 2. clipped PPO on the stored trajectories
            t1 = time.perf_counter()
            unet.train()
            stats = {"loss": [], "approx_kl": [], "clipfrac": []}
            for _inner in range(cfg.inner_epochs):
                order = torch.from_numpy(rng.permutation(len(rewards)))
                # each sample trains on its own random subset of the denoising steps
                step_perm = torch.stack([torch.from_numpy(rng.permutation(n_steps)) for _ in range(len(rewards))])
                starts = list(range(0, len(order), cfg.train_batch_size))
                for bi, k in enumerate(starts):
                    idx = order[k:k + cfg.train_batch_size]
                    # this batch's group of gradient_accumulation_steps batches (the last may be shorter)
                    group = cfg.gradient_accumulation_steps
                    first = bi - bi % group
                    in_group = min(group, len(starts) - first)
                    emb = torch.cat([uncond1.expand(len(idx), -1, -1), cond[idx]])
                    for j in range(n_train_steps):
                        sj = step_perm[idx, j]
                        x_t = traj[idx, sj].to(device)
                        x_prev = traj[idx, sj + 1].to(device)
                        t = timesteps[sj]
                        with acc.autocast():
                            eps = guided_eps(unet, x_t, t, emb, guidance)
                        _, logp = ddim_step_with_logprob(pipe.scheduler, eps, t.cpu(), x_t, cfg.eta, prev_sample=x_prev)
                        ratio = torch.exp(logp - old_logp[idx, sj].to(device))
                        a = adv[idx.to(device)]
                        loss = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip_range, 1 + cfg.clip_range)).mean()
                        acc.backward(loss / (n_train_steps * in_group))
                        with torch.no_grad():
                            stats["loss"].append(loss.item())
                            stats["approx_kl"].append(0.5 * ((logp - old_logp[idx, sj].to(device)) ** 2).mean().item())
                            stats["clipfrac"].append(((ratio - 1).abs() > cfg.clip_range).float().mean().item())
                    if bi + 1 == first + in_group:  # the group's last batch: one optimizer step
                        acc.clip_grad_norm_(lora_params(unet), cfg.max_grad_norm)
                        opt.step()
                        opt.zero_grad()
            # once per epoch, where it is logged (the stats are host floats already)
            ctx.check_finite(float(np.mean(stats["loss"])), what=f"the loss of epoch {epoch + 1}")
            ctx.check_finite(rewards, what=f"the reward of epoch {epoch + 1}")
            rec = {"epoch": epoch + 1, "reward_mean": float(rewards.mean()), "reward_std": float(rewards.std()),
                   **{k: float(np.mean(v)) for k, v in stats.items()},
                   "sample_s": t1 - t0, "train_s": time.perf_counter() - t1}
            history.append(rec)
            ctx.log_step(epoch + 1, **{k: v for k, v in rec.items() if k != "epoch"})
            bar.update(task, advance=1, info=f"reward {rec['reward_mean']:.4f} kl {rec['approx_kl']:.2e} "
                                             f"clip {rec['clipfrac']:.2f}")
            if export_every and (epoch + 1) % export_every == 0 and acc.is_main_process:
                write_epoch_kohya(acc.unwrap_model(unet), lora_cfg, out / "kohya", epoch + 1)
            if (epoch + 1) % cfg.checkpoint_every == 0 or epoch + 1 == cfg.epochs:
                ckpts.save(epoch + 1, {"epoch": epoch + 1, "history": history, "tracker": tracker.state_dict()})
            atomic_write_json(out / "history.json", history)

    # -- the trained LoRA, reward after, pictures -----------------------------------------------
    bare = acc.unwrap_model(unet)
    save_lora(bare, lora_cfg, out / "lora", metadata={"epochs": cfg.epochs, "reward": ctx.config.reward,
                                                       "base_model": str(model_dir(ctx)), "round": ctx.round})
    after_images, after = evaluate("after")
    console.print(f"reward after DDPO ({ctx.config.reward}): {after.mean():.4f} ± {after.std():.4f} "
                  f"(before {before.mean():.4f}; same {len(eval_prompts)} prompts and seeds)")
    from ..pictures import save_grid

    ncol = len(prompts)
    rows = cfg.eval_images_per_prompt
    save_grid(torch.cat([before_images, after_images]), out / "before_after.png", ncol=ncol,
              labels=eval_prompts * 2, row_titles=["before"] * rows + ["after"] * rows)
    ctx.add_artifact(out / "before_after.png", "before/after grid")
    ctx.add_artifact(out / "lora", "LoRA")
    extra = {}
    score = ctx.config.score
    if score.mode == "auto" and score.rater != ctx.config.reward and f"reward/{score.rater}" in ctx.registry:
        # the scripted rater's own judgement of the same images: did the CNN's rise carry over?
        rater = ctx.component(f"reward/{score.rater}", "reward")
        extra = {"rater_before": float(rewards_of(rater, before_images, eval_prompts).mean()),
                 "rater_after": float(rewards_of(rater, after_images, eval_prompts).mean())}
        console.print(f"scripted rater ({score.rater}) on the same images: {extra['rater_before']:.4f} → "
                      f"{extra['rater_after']:.4f}")
    last = history[-1] if history else {}
    ctx.log_metrics(reward_before=float(before.mean()), reward_after=float(after.mean()),
                    reward_gain=float(after.mean() - before.mean()), epochs=cfg.epochs,
                    last_epoch_reward_mean=last.get("reward_mean", float("nan")),
                    last_epoch_approx_kl=last.get("approx_kl", float("nan")),
                    last_epoch_clipfrac=last.get("clipfrac", float("nan")), **extra)
    atomic_write_json(out / "eval.json", {"prompts": eval_prompts, "seeds": eval_seeds,
                                         "reward_before": before.tolist(), "reward_after": after.tolist()})
