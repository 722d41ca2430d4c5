"""Generating the next latent with DDIM (v-prediction), context noise and context CFG.

:func:`next_latent` is the one inference step of the world model: noise the context with the
bucket nearest to ``context_noise``, run ``steps`` DDIM steps from pure noise, and, when
``guidance_scale`` ≠ 1, mix the conditional prediction with one whose *whole* context was
dropped by :meth:`WorldModel.drop_context` (the same function training uses).
"""

from __future__ import annotations

import torch


def make_scheduler(scheduler_config: dict):
    from diffusers import DDIMScheduler

    return DDIMScheduler.from_config(scheduler_config)


@torch.no_grad()
def next_latent(model, scheduler, context: torch.Tensor, actions: torch.Tensor,
                mask: torch.Tensor | None = None, steps: int = 4, context_noise: float = 0.0,
                guidance_scale: float = 1.0, generator: torch.Generator | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
    """Sample x_0 (B, 4, h, w) given context latents (B, C, 4, h, w) and actions (B, C).

    ``noise`` (broadcastable to (B, 4, h, w)) replaces the starting noise: with DDIM's η = 0
    the same noise gives the same sample, so branches that differ only in their actions can
    be compared without sampling noise in between."""
    b = context.shape[0]
    device, dtype = context.device, next(model.parameters()).dtype
    shape = (b, context.shape[2], context.shape[3], context.shape[4])
    bucket = torch.full((b,), model.bucket_of(context_noise), dtype=torch.long, device=device)
    clean = context = context.to(dtype)
    if context_noise > 0:
        context = model.noise_context(context, bucket, generator)
    if noise is None:
        gdev = generator.device if generator is not None else device
        x = torch.randn(shape, generator=generator, device=gdev).to(device, dtype)
    else:
        x = noise.to(device, dtype).expand(shape).clone()
    if scheduler.num_inference_steps != steps or scheduler.timesteps.device != torch.device(device):
        scheduler.set_timesteps(steps, device=device)
    guided = guidance_scale != 1.0
    if guided:
        drop = torch.cat([torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)]).to(device)
        context_in = model.drop_context(torch.cat([context, context]), drop)
        actions_in = torch.cat([actions, actions])
        mask_in = None if mask is None else torch.cat([mask, mask])
        bucket_in = torch.cat([bucket, bucket])
    else:
        context_in, actions_in, mask_in, bucket_in = context, actions, mask, bucket
    for t in scheduler.timesteps:
        x_in = torch.cat([x, x]) if guided else x
        ts = torch.full((x_in.shape[0],), int(t), dtype=torch.long, device=device)
        v = model(x_in, ts, context_in, actions_in, mask_in, bucket_in)
        if guided:
            v_cond, v_uncond = v.chunk(2)
            v = v_uncond + guidance_scale * (v_cond - v_uncond)
        x = scheduler.step(v, t, x).prev_sample
    return model.from_target(x, clean)


@torch.no_grad()
def rollout(model, scheduler, vae, context: torch.Tensor, mask: torch.Tensor, actions: torch.Tensor,
            steps: int = 4, context_noise: float = 0.0, guidance_scale: float = 1.0,
            generator: torch.Generator | None = None,
            crop: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate ``len(actions)`` frames autoregressively from one seeded context.

    ``context`` (C, 4, h, w) and ``mask`` (C,) hold the seed (padding where mask is 0);
    ``actions`` (C + H - 1,) are the actions after each context frame (the no-op on padding;
    the last one leads to the first generated frame) followed by the H - 1 actions to play
    after each generated frame but the last. Each new latent joins the context (the oldest leaves). Returns the generated
    latents (H, 4, h, w) and frames (H, 3, H_px, W_px) in [0, 1].
    """
    from .vae import decode_latents

    c = context.shape[0]
    ctx, m = context[None].clone(), mask[None].clone()
    lats, frames = [], []
    for k in range(len(actions) - c + 1):
        z = next_latent(model, scheduler, ctx, actions[None, k:k + c], m, steps, context_noise,
                        guidance_scale, generator)
        lats.append(z[0])
        frames.append(decode_latents(vae, z, crop)[0])
        ctx = torch.cat([ctx[:, 1:], z[:, None].to(ctx.dtype)], dim=1)
        m = torch.cat([m[:, 1:], torch.ones_like(m[:, :1])], dim=1)
    return torch.stack(lats), torch.stack(frames)
