"""Generating the next latent with DDIM (v-prediction), context noise and context CFG.

:func:`next_latent` is the one inference step of the world model: noise the context with the
bucket nearest to ``context_noise``, run ``steps`` DDIM steps from pure noise, and, when
``guidance_scale`` ≠ 1, mix the conditional prediction with one whose *whole* context was
dropped by :meth:`WorldModel.drop_context` (the same function training uses); when
``action_guidance`` ≠ 1, also with one that does not see the action leading to the frame
(:meth:`WorldModel.hide_action`, trained with ``model.action_drop_prob``), which pushes the
frame further the way that action moves it:

    v = v_cond + (guidance_scale − 1)(v_cond − v_no_context) + (action_guidance − 1)(v_cond − v_no_action)
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
                noise: torch.Tensor | None = None, action_guidance: float = 1.0) -> torch.Tensor:
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
    # one batched UNet call per DDIM step: [conditional, no context?, no action?]
    passes = 1 + (guidance_scale != 1.0) + (action_guidance != 1.0)
    if action_guidance != 1.0 and mask is None:
        mask = torch.ones(actions.shape, device=device)
    context_in, mask_in = [context], [mask]
    if guidance_scale != 1.0:
        context_in.append(model.drop_context(context, torch.ones(b, dtype=torch.bool, device=device)))
        mask_in.append(mask)
    if action_guidance != 1.0:
        context_in.append(context)
        mask_in.append(model.hide_action(mask))
    if passes == 1:  # no copies on the plain path
        context_in, actions_in, mask_in, bucket_in = context, actions, mask, bucket
    else:
        context_in, actions_in, bucket_in = torch.cat(context_in), actions.repeat(passes, 1), bucket.repeat(passes)
        mask_in = None if mask is None else torch.cat(mask_in)
    for t in scheduler.timesteps:
        x_in = x.repeat(passes, 1, 1, 1) if passes > 1 else x
        ts = torch.full((x_in.shape[0],), int(t), dtype=torch.long, device=device)
        v = model(x_in, ts, context_in, actions_in, mask_in, bucket_in)
        if passes > 1:
            vs = v.chunk(passes)
            v, k = vs[0], 1
            if guidance_scale != 1.0:
                v = vs[k] + guidance_scale * (vs[0] - vs[k])
                k += 1
            if action_guidance != 1.0:
                v = v + (action_guidance - 1.0) * (vs[0] - vs[k])
        x = scheduler.step(v, t, x).prev_sample
    return model.from_target(x, clean)


@torch.no_grad()
def rollout(model, scheduler, vae, context: torch.Tensor, mask: torch.Tensor, actions: torch.Tensor,
            steps: int = 4, context_noise: float = 0.0, guidance_scale: float = 1.0,
            generator: torch.Generator | None = None,
            crop: tuple[int, int] | None = None, action_guidance: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
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
                        guidance_scale, generator, action_guidance=action_guidance)
        lats.append(z[0])
        frames.append(decode_latents(vae, z, crop)[0])
        ctx = torch.cat([ctx[:, 1:], z[:, None].to(ctx.dtype)], dim=1)
        m = torch.cat([m[:, 1:], torch.ones_like(m[:, :1])], dim=1)
    return torch.stack(lats), torch.stack(frames)
