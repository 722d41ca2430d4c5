"""What every policy trainer shares: the UNet with its LoRA, sampling, the before/after evaluation.

A trainer (``trainer/ddpo``, ``trainer/ddpo-d3po`` or a plugin's) is built by the ``policy`` stage
from ``policy.trainer`` with the stage's :class:`~almost.runs.RunContext` and returns its
final metrics from ``fit()``. :class:`PolicyRun` is the part they have in common, in the order
the DDPO stage always did it (so its numbers do not move): load the model folder, attach the
LoRA (the previous round's, or a fresh one seeded from ``policy.seed``) with only it in fp32
under mixed precision, build the reward, and sample with DDIM keeping log-probabilities.
:meth:`PolicyRun.evaluate` measures the reward on fixed prompts and seeds (``eval_seed``),
cached in ``eval_<tag>.safetensors`` so a resumed run reuses "before"; :meth:`PolicyRun.finish`
writes the LoRA, the "after" figures, ``before_after.png`` and ``eval.json``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from almost.io import atomic_write_json
from almost.observe.console import console
from almost.train.checkpoint import (
    Checkpoints,
    adapter_only_checkpoints,
    load_safetensors,
    save_safetensors,
)

from ..ddim import sample
from ..encoding import decode_latents, encode_prompts, latent_size
from ..loaders import load_pipeline


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


def load_policy(ctx, acc):
    """``(pipe, unet, lora_config)``: the model folder on the accelerator's device, frozen parts in
    the mixed-precision dtype, the LoRA attached and kept in fp32."""
    from ..stages.generate import previous_lora
    from ..stages.pretrain import model_dir

    cfg = ctx.config.policy
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(acc.mixed_precision, torch.float32)
    pipe = load_pipeline(model_dir(ctx), "float32", str(acc.device))
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
    return pipe, unet, lora_cfg


class PolicyRun:
    """The LoRA policy of one ``policy`` stage run, shared by every trainer (see the module)."""

    def __init__(self, ctx):
        self.ctx, self.cfg = ctx, ctx.config.policy
        self.n_steps, self.guidance = sampler_settings(ctx.config)
        self.out = ctx.stage_dir()
        self.acc = ctx.accelerator(mixed_precision=self.cfg.mixed_precision)
        self.device = self.acc.device
        self.pipe, self.unet, self.lora_cfg = load_policy(ctx, self.acc)
        self.reward_fn = make_reward(ctx, self.pipe)
        self.prompts = list(self.cfg.prompts or ctx.config.generate.prompts)
        h, w = latent_size(self.pipe, ctx.config.generate.height, ctx.config.generate.width)
        self.shape = (self.unet.config.in_channels, h, w)
        self.uncond1 = encode_prompts(self.pipe, [ctx.config.generate.negative_prompt])
        self.eval_prompts = [p for _ in range(self.cfg.eval_images_per_prompt) for p in self.prompts]
        self.eval_seeds = [self.cfg.eval_seed + i for i in range(len(self.eval_prompts))]
        self.pipe.scheduler.set_timesteps(self.n_steps)  # log-probs of stored steps need it before any sampling

    def sample(self, prompts, seeds, with_logprob=True):
        """``(images, trajectory, log_probs, timesteps, cond)`` of ``prompts[i]`` from ``seeds[i]``."""
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        cond = encode_prompts(self.pipe, list(prompts))
        with self.acc.autocast():
            lat, traj, logp, ts = sample(self.unet, self.pipe.scheduler, cond,
                                         self.uncond1.expand(len(prompts), -1, -1), self.shape,
                                         steps=self.n_steps, guidance=self.guidance, eta=self.cfg.eta,
                                         generators=gens, with_logprob=with_logprob)
            images = decode_latents(self.pipe, lat)
        return images, traj, logp, ts, cond

    def evaluate(self, tag: str):
        """``(images, rewards)`` on the fixed evaluation prompts and seeds (cached per tag)."""
        f = self.out / f"eval_{tag}.safetensors"
        if f.is_file():
            t = load_safetensors(f)
            return t["images"], t["rewards"]
        self.unet.eval()
        ims, rs = [], []
        step = self.cfg.sample_batch_size
        for k in range(0, len(self.eval_prompts), step):
            im, *_ = self.sample(self.eval_prompts[k:k + step], self.eval_seeds[k:k + step])
            ims.append(im.float().cpu())
            rs.append(rewards_of(self.reward_fn, im, self.eval_prompts[k:k + step]))
        images, rewards = torch.cat(ims), torch.cat(rs)
        save_safetensors({"images": images, "rewards": rewards}, f)
        return images, rewards

    def prepare(self, lr: float):
        """``(optimizer, checkpoints)``: AdamW over the LoRA, prepared; checkpoints hold the LoRA only."""
        opt = torch.optim.AdamW(lora_params(self.unet), lr=lr, betas=(0.9, 0.999), weight_decay=1e-4, eps=1e-8)
        self.unet, opt = self.acc.prepare(self.unet, opt)
        adapter_only_checkpoints(self.acc, self.unet)  # checkpoints hold the LoRA only, not the UNet
        return opt, Checkpoints(self.out / "checkpoints", self.acc)

    def optimizer_step(self, opt) -> None:
        self.acc.clip_grad_norm_(lora_params(self.unet), self.cfg.max_grad_norm)
        opt.step()
        opt.zero_grad()

    def end_epoch(self, epoch: int, history: list, save) -> None:
        """After epoch ``epoch`` (1-based): the kohya fallback every ``export_every``, a checkpoint
        (``save(epoch)``) every ``checkpoint_every`` and at the end, and ``history.json``."""
        every = self.ctx.config.export.export_every
        if every and epoch % every == 0 and self.acc.is_main_process:
            write_epoch_kohya(self.acc.unwrap_model(self.unet), self.lora_cfg, self.out / "kohya", epoch)
        if epoch % self.cfg.checkpoint_every == 0 or epoch == self.cfg.epochs:
            save(epoch)
        atomic_write_json(self.out / "history.json", history)

    def finish(self, before_images, before, what: str = "DDPO") -> tuple[dict, dict]:
        """Save the LoRA, measure "after" on the same prompts and seeds, write the pictures and
        ``eval.json``; returns ``(before/after figures, the scripted rater's figures or {})``."""
        from ..lora import save_lora
        from ..pictures import save_grid
        from ..stages.pretrain import model_dir

        ctx, cfg, out = self.ctx, self.cfg, self.out
        save_lora(self.acc.unwrap_model(self.unet), self.lora_cfg, out / "lora",
                  metadata={"epochs": cfg.epochs, "reward": ctx.config.reward,
                            "base_model": str(model_dir(ctx)), "round": ctx.round})
        after_images, after = self.evaluate("after")
        console.print(f"reward after {what} ({ctx.config.reward}): {after.mean():.4f} ± {after.std():.4f} "
                      f"(before {before.mean():.4f}; same {len(self.eval_prompts)} prompts and seeds)")
        rows = cfg.eval_images_per_prompt
        save_grid(torch.cat([before_images, after_images]), out / "before_after.png", ncol=len(self.prompts),
                  labels=self.eval_prompts * 2, row_titles=["before"] * rows + ["after"] * rows)
        ctx.add_artifact(out / "before_after.png", "before/after grid")
        ctx.add_artifact(out / "lora", "LoRA")
        figures = {"reward_before": float(before.mean()), "reward_after": float(after.mean()),
                   "reward_gain": float(after.mean() - before.mean()), "epochs": cfg.epochs}
        atomic_write_json(out / "eval.json", {"prompts": self.eval_prompts, "seeds": self.eval_seeds,
                                             "reward_before": before.tolist(), "reward_after": after.tolist()})
        return figures, self.rater_figures(before_images, after_images)

    def rater_figures(self, before_images, after_images) -> dict:
        """The scripted rater's own judgement of the same images: did the CNN's rise carry over?"""
        ctx, score = self.ctx, self.ctx.config.score
        if not (score.mode == "auto" and score.rater != ctx.config.reward and f"reward/{score.rater}" in ctx.registry):
            return {}
        rater = ctx.component(f"reward/{score.rater}", "reward")
        extra = {"rater_before": float(rewards_of(rater, before_images, self.eval_prompts).mean()),
                 "rater_after": float(rewards_of(rater, after_images, self.eval_prompts).mean())}
        console.print(f"scripted rater ({score.rater}) on the same images: {extra['rater_before']:.4f} → "
                      f"{extra['rater_after']:.4f}")
        return extra
