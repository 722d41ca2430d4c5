"""``trainer/ddpo``: DDPO — fine-tune the UNet LoRA so sampled images earn more reward.

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

A checkpoint (LoRA, optimizer, scaler, RNG, epoch, stat tracker) is saved every
``checkpoint_every`` epochs and none is deleted; an interrupted run resumes from the latest.
``history.json`` has reward mean/std, approx KL and clip fraction per epoch.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from almost.observe.console import console, progress

from ..advantages import PerPromptStatTracker, batch_advantages
from ..ddim import ddim_step_with_logprob, guided_eps
from .base import PolicyRun, rewards_of


class DdpoTrainer:
    """The ``policy`` stage's default trainer (see the module); ``fit()`` resumes and returns the
    stage's metrics."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.output_dir: Path = ctx.stage_dir()

    def fit(self) -> dict:
        ctx, cfg = self.ctx, self.ctx.config.policy
        run = PolicyRun(ctx)
        before_images, before = run.evaluate("before")
        console.print(f"reward before DDPO ({ctx.config.reward}): {before.mean():.4f} ± {before.std():.4f}")
        opt, ckpts = run.prepare(cfg.lr)
        tracker = PerPromptStatTracker(cfg.stat_buffer, cfg.stat_min_count)
        state = ckpts.load()
        start, history = 0, []
        if state is not None:
            start, history = int(state["epoch"]), list(state["history"])
            tracker.load_state_dict(state["tracker"])
            console.print(f"resuming DDPO from epoch {start} ({ckpts.latest()})")

        def save(epoch):
            ckpts.save(epoch, {"epoch": epoch, "history": history, "tracker": tracker.state_dict()})

        with progress() as bar:
            task = bar.add_task("DDPO epochs", total=cfg.epochs, completed=start, info="")
            for epoch in range(start, cfg.epochs):
                rec = self.epoch(run, opt, tracker, epoch)
                history.append(rec)
                ctx.log_step(epoch + 1, **{k: v for k, v in rec.items() if k != "epoch"})
                bar.update(task, advance=1, info=f"reward {rec['reward_mean']:.4f} kl {rec['approx_kl']:.2e} "
                                                 f"clip {rec['clipfrac']:.2f}")
                run.end_epoch(epoch + 1, history, save)
        figures, extra = run.finish(before_images, before)
        last = history[-1] if history else {}
        return {**figures, "last_epoch_reward_mean": last.get("reward_mean", float("nan")),
                "last_epoch_approx_kl": last.get("approx_kl", float("nan")),
                "last_epoch_clipfrac": last.get("clipfrac", float("nan")), **extra}

    def epoch(self, run: PolicyRun, opt, tracker, epoch: int) -> dict:
        """Sample, score, one clipped PPO pass; the epoch's history record."""
        cfg, acc = run.cfg, run.acc
        rng = np.random.default_rng([cfg.seed, epoch, acc.process_index])  # each GPU its own samples
        t0 = time.perf_counter()
        batch = self.sample_epoch(run, rng)
        adv = self.advantages(run, tracker, batch)
        t1 = time.perf_counter()
        stats = self.train_epoch(run, opt, batch, adv, rng)
        # once per epoch, where it is logged (the stats are host floats already)
        self.ctx.check_finite(float(np.mean(stats["loss"])), what=f"the loss of epoch {epoch + 1}")
        rewards = batch["rewards"]
        self.ctx.check_finite(rewards, what=f"the reward of epoch {epoch + 1}")
        return {"epoch": epoch + 1, "reward_mean": float(rewards.mean()), "reward_std": float(rewards.std()),
                **{k: float(np.mean(v)) for k, v in stats.items()},
                "sample_s": t1 - t0, "train_s": time.perf_counter() - t1}

    def sample_epoch(self, run: PolicyRun, rng) -> dict:
        """``samples_per_epoch`` images with their trajectories, log-probs and rewards."""
        cfg, prompts = run.cfg, run.prompts
        run.unet.eval()
        parts = []
        for k in range(0, cfg.samples_per_epoch, cfg.sample_batch_size):
            n = min(cfg.sample_batch_size, cfg.samples_per_epoch - k)
            ps = [prompts[i] for i in rng.integers(len(prompts), size=n)]
            seeds = rng.integers(2**31 - 1, size=n)
            images, traj, logp, ts, cond = run.sample(ps, seeds)
            parts.append({"prompts": ps, "traj": traj, "logp": logp, "cond": cond, "ts": ts,
                          "rewards": rewards_of(run.reward_fn, images, ps)})
        return {"prompts": [p for b in parts for p in b["prompts"]],
                "rewards": torch.cat([b["rewards"] for b in parts]),
                "traj": torch.cat([b["traj"] for b in parts]), "logp": torch.cat([b["logp"] for b in parts]),
                "cond": torch.cat([b["cond"] for b in parts]), "timesteps": parts[-1]["ts"].to(run.device)}

    def advantages(self, run: PolicyRun, tracker, batch) -> torch.Tensor:
        """Advantages from every process's rewards (one process: these are just ours), clipped."""
        cfg, acc, prompts, rewards = run.cfg, run.acc, run.prompts, batch["rewards"]
        pid = torch.tensor([prompts.index(p) for p in batch["prompts"]], device=run.device)
        all_r = acc.gather(rewards.to(run.device)).cpu().numpy()
        all_p = [prompts[i] for i in acc.gather(pid).cpu().tolist()]
        adv = tracker.update(all_p, all_r) if cfg.per_prompt_stats else batch_advantages(all_r)
        mine = slice(acc.process_index * len(rewards), (acc.process_index + 1) * len(rewards))
        adv = torch.as_tensor(adv[mine], dtype=torch.float32, device=run.device)
        return adv.clamp(-cfg.adv_clip_max, cfg.adv_clip_max)

    def train_epoch(self, run: PolicyRun, opt, batch, adv, rng) -> dict:
        """Clipped PPO on the stored trajectories, ``inner_epochs`` passes."""
        cfg = run.cfg
        n = len(batch["rewards"])
        run.unet.train()
        stats = {"loss": [], "approx_kl": [], "clipfrac": []}
        for _inner in range(cfg.inner_epochs):
            order = torch.from_numpy(rng.permutation(n))
            # each sample trains on its own random subset of the denoising steps
            step_perm = torch.stack([torch.from_numpy(rng.permutation(run.n_steps)) for _ in range(n)])
            starts = list(range(0, n, cfg.train_batch_size))
            for bi, k in enumerate(starts):
                idx = order[k:k + cfg.train_batch_size]
                # this batch's group of gradient_accumulation_steps batches (the last may be shorter)
                group = cfg.gradient_accumulation_steps
                first = bi - bi % group
                in_group = min(group, len(starts) - first)
                self.train_batch(run, {**batch, "adv": adv}, idx, step_perm[idx], in_group, stats)
                if bi + 1 == first + in_group:  # the group's last batch: one optimizer step
                    run.optimizer_step(opt)
        return stats

    def train_batch(self, run: PolicyRun, batch, idx, steps, in_group: int, stats: dict) -> None:
        """Accumulate the PPO gradients of one training batch over its trained timesteps
        (``batch`` holds the epoch's samples and their advantages ``adv``)."""
        cfg, acc, device = run.cfg, run.acc, run.device
        n_train_steps = max(1, int(run.n_steps * cfg.timestep_fraction))
        traj, old_logp, timesteps = batch["traj"], batch["logp"], batch["timesteps"]
        emb = torch.cat([run.uncond1.expand(len(idx), -1, -1), batch["cond"][idx]])
        for j in range(n_train_steps):
            sj = steps[:, j]
            x_t = traj[idx, sj].to(device)
            x_prev = traj[idx, sj + 1].to(device)
            t = timesteps[sj]
            with acc.autocast():
                eps = guided_eps(run.unet, x_t, t, emb, run.guidance)
            _, logp = ddim_step_with_logprob(run.pipe.scheduler, eps, t.cpu(), x_t, cfg.eta, prev_sample=x_prev)
            ratio = torch.exp(logp - old_logp[idx, sj].to(device))
            a = batch["adv"][idx.to(device)]
            loss = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip_range, 1 + cfg.clip_range)).mean()
            acc.backward(loss / (n_train_steps * in_group))
            with torch.no_grad():
                stats["loss"].append(loss.item())
                stats["approx_kl"].append(0.5 * ((logp - old_logp[idx, sj].to(device)) ** 2).mean().item())
                stats["clipfrac"].append(((ratio - 1).abs() > cfg.clip_range).float().mean().item())
