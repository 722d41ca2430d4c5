"""A sampler and a trainer for ddpo's stages, as a third party would bring them.

* ``sampler/example-euler`` — the ``generate`` stage's images drawn with diffusers' Euler
  scheduler (``--set generate.sampler=example-euler``): the same model, another solver.
* ``trainer/example-rwr`` — reward-weighted regression for the ``policy`` stage
  (``--set policy.trainer=example-rwr``): each epoch samples images from the LoRA policy, scores
  them with the run's reward, and fits the LoRA with the ordinary denoising loss weighted by
  ``softmax(reward / temperature)``, so high-reward images are learnt more (Lee et al. 2023,
  "Aligning Text-to-Image Models using Human Feedback"). It builds on ddpo's ``PolicyRun`` (the
  policy, its reward, checkpoints and before/after figures), so it checkpoints, resumes and
  reports like the built-in trainers.

Both follow the contracts in ``almost.protocols``: built from the registry with the stage's
``ctx`` (and, for the sampler, the loaded ``pipe``).
"""

from __future__ import annotations

from pathlib import Path


class EulerSampler:
    """One float image ``(3, H, W)`` in [0, 1] per condition, a prompt or ``(prompt, seed)``."""

    label = "Euler"

    def __init__(self, ctx, pipe):
        from diffusers import EulerDiscreteScheduler

        self.cfg = ctx.config.generate
        sched = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
        self.pipe = type(pipe)(**{**pipe.components, "scheduler": sched})
        self.pipe.set_progress_bar_config(disable=True)

    def sample(self, conditions, *, generator=None) -> list:
        import torch

        conds = [c if isinstance(c, tuple | list) else (c, None) for c in conditions]
        drawn = iter(torch.randint(2**31 - 1, (len(conds),), generator=generator).tolist())
        cfg, pipe = self.cfg, self.pipe
        side = pipe.unet.config.sample_size * pipe.vae_scale_factor
        out = []
        for prompt, seed in conds:
            g = torch.Generator().manual_seed(int(seed if seed is not None else next(drawn)))
            result = pipe(prompt, num_inference_steps=cfg.steps, guidance_scale=cfg.guidance,
                          negative_prompt=cfg.negative_prompt or None, height=cfg.height or side,
                          width=cfg.width or side, generator=g, output_type="pt")
            out.append(result.images[0].float().clamp(0, 1).cpu())
        return out


class RewardWeightedTrainer:
    """See the module. Option (``policy.trainer_options``): ``temperature`` of the softmax."""

    def __init__(self, ctx, temperature: float = 0.5):
        from almost.errors import UserError

        if not temperature > 0:
            raise UserError(f"policy.trainer_options: example-rwr needs temperature > 0, not {temperature!r}")
        self.ctx, self.temperature = ctx, float(temperature)
        self.output_dir: Path = ctx.stage_dir()

    def fit(self) -> dict:
        from almost_ddpo.trainers.base import PolicyRun

        ctx, cfg = self.ctx, self.ctx.config.policy
        run = PolicyRun(ctx)
        before_images, before = run.evaluate("before")
        opt, ckpts = run.prepare(cfg.lr)
        state = ckpts.load()
        start, history = (int(state["epoch"]), list(state["history"])) if state else (0, [])

        def save(epoch):
            ckpts.save(epoch, {"epoch": epoch, "history": history})

        for epoch in range(start, cfg.epochs):
            rec = self.epoch(run, opt, epoch)
            history.append(rec)
            ctx.log_step(epoch + 1, **{k: v for k, v in rec.items() if k != "epoch"})
            run.end_epoch(epoch + 1, history, save)
        figures, extra = run.finish(before_images, before, what="reward-weighted regression")
        return {**figures, "last_epoch_loss": history[-1]["loss"] if history else 0.0, **extra}

    def epoch(self, run, opt, epoch: int) -> dict:
        import numpy as np
        import torch
        import torch.nn.functional as F

        from almost_ddpo.trainers.base import rewards_of

        cfg = run.cfg
        rng = np.random.default_rng([cfg.seed, epoch])
        n = cfg.samples_per_epoch
        prompts = [run.prompts[i] for i in rng.integers(len(run.prompts), size=n)]
        seeds = rng.integers(2**31 - 1, size=n)
        run.unet.eval()
        with torch.no_grad():
            images, traj, _, _, cond = run.sample(prompts, seeds)
        rewards = rewards_of(run.reward_fn, images, prompts)
        self.ctx.check_finite(rewards, what=f"the reward of epoch {epoch + 1}")
        weights = torch.softmax(rewards / self.temperature, 0) * n  # mean 1
        x0 = traj[:, -1].to(run.device)
        sched = run.pipe.scheduler
        gen = torch.Generator().manual_seed(int(rng.integers(2**31 - 1)))
        t = torch.randint(0, sched.config.num_train_timesteps, (n,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen).to(run.device)
        x_t = sched.add_noise(x0, noise, t.to(run.device))
        target = noise if sched.config.prediction_type == "epsilon" else sched.get_velocity(x0, noise, t)
        run.unet.train()
        with run.acc.autocast():
            pred = run.unet(x_t, t.to(run.device), encoder_hidden_states=cond.to(run.device)).sample
        per_image = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
        loss = (weights.to(run.device) * per_image).mean()
        self.ctx.check_finite(float(loss), what=f"the loss of epoch {epoch + 1}")
        run.acc.backward(loss)
        run.optimizer_step(opt)
        return {"epoch": epoch + 1, "loss": float(loss), "reward_mean": float(rewards.mean()),
                "weight_max": float(weights.max())}
