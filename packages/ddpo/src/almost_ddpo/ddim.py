"""DDIM sampling with per-step log-probabilities (the policy of DDPO).

:func:`ddim_step_with_logprob` follows ``diffusers.DDIMScheduler.step`` (read it side by side):
with η > 0 each step draws ``x_{t-1} ~ N(μ_θ(x_t, t), σ_t²)`` where, in the paper's notation
(Song et al. 2021, eq. 12), with ``ᾱ`` the cumulative product of alphas,

    x̂₀  = (x_t − √(1−ᾱ_t) ε_θ) / √ᾱ_t
    σ_t = η · √((1−ᾱ_{t−1}) / (1−ᾱ_t) · (1 − ᾱ_t / ᾱ_{t−1}))
    μ   = √ᾱ_{t−1} x̂₀ + √(1−ᾱ_{t−1}−σ_t²) ε_θ

and returns ``log N(x_{t−1}; μ, σ_t²)`` averaged over the latent's elements (as ddpo-pytorch
does). Given ``prev_sample`` it scores that sample instead of drawing one (the training pass).
:func:`sample` runs the whole chain with classifier-free guidance, one generator per image so
an image depends on its own seed only.
"""

from __future__ import annotations

import math

import torch


def _per_sample(values: torch.Tensor, index: torch.Tensor, ndim: int) -> torch.Tensor:
    out = values.gather(0, index.clamp(min=0).long())
    return out.view(-1, *([1] * (ndim - 1)))


def ddim_step_with_logprob(scheduler, model_output, timestep, sample, eta: float = 1.0,
                           prev_sample=None, generators=None):
    """One DDIM step ``x_t → x_{t-1}``; returns ``(prev_sample, log_prob (B,))``."""
    if scheduler.num_inference_steps is None:
        raise ValueError("call scheduler.set_timesteps(...) before stepping")
    b = sample.shape[0]
    t = torch.as_tensor(timestep, device="cpu").long().reshape(-1).expand(b)
    prev_t = t - scheduler.config.num_train_timesteps // scheduler.num_inference_steps
    acp = scheduler.alphas_cumprod.to(torch.float32)
    a_t = _per_sample(acp, t, sample.ndim).to(sample.device)
    a_prev = torch.where(prev_t >= 0, acp.gather(0, prev_t.clamp(min=0)),
                         torch.as_tensor(scheduler.final_alpha_cumprod, dtype=torch.float32))
    a_prev = a_prev.view(-1, *([1] * (sample.ndim - 1))).to(sample.device)
    beta_t = 1 - a_t
    model_output = model_output.float()
    x_t = sample.float()

    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        x0 = (x_t - beta_t.sqrt() * model_output) / a_t.sqrt()
        eps = model_output
    elif kind == "v_prediction":
        x0 = a_t.sqrt() * x_t - beta_t.sqrt() * model_output
        eps = a_t.sqrt() * model_output + beta_t.sqrt() * x_t
    elif kind == "sample":
        x0 = model_output
        eps = (x_t - a_t.sqrt() * x0) / beta_t.sqrt()
    else:
        raise ValueError(f"unsupported prediction_type {kind!r}")
    if scheduler.config.thresholding:
        x0 = scheduler._threshold_sample(x0)
    elif scheduler.config.clip_sample:
        r = scheduler.config.clip_sample_range
        x0 = x0.clamp(-r, r)
        eps = (x_t - a_t.sqrt() * x0) / beta_t.sqrt()  # the "clipped model output"

    variance = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
    std = eta * variance.clamp(min=0).sqrt()
    mean = a_prev.sqrt() * x0 + (1 - a_prev - std**2).clamp(min=0).sqrt() * eps

    if prev_sample is None:
        noise = randn_like_per_sample(mean, generators)
        prev_sample = mean + std * noise
    prev = prev_sample.detach().float()
    std_safe = std.clamp(min=1e-12)
    log_prob = (-((prev - mean) ** 2) / (2 * std_safe**2) - torch.log(std_safe)
                - math.log(math.sqrt(2 * math.pi)))
    log_prob = log_prob.mean(dim=tuple(range(1, log_prob.ndim)))
    return prev_sample.to(sample.dtype), log_prob


def randn_like_per_sample(x: torch.Tensor, generators=None) -> torch.Tensor:
    """Standard normal noise shaped like ``x``; row ``i`` from ``generators[i]`` if given."""
    if generators is None:
        return torch.randn(x.shape, device=x.device, dtype=torch.float32)
    if isinstance(generators, torch.Generator):
        return torch.randn(x.shape, generator=generators, device="cpu").to(x.device)
    rows = [torch.randn(x.shape[1:], generator=g, device="cpu") for g in generators]
    return torch.stack(rows).to(x.device)


def guided_eps(unet, latents, t, embeds, guidance: float):
    """UNet noise prediction with classifier-free guidance (``embeds`` = [uncond; cond])."""
    if guidance == 1.0:
        cond = embeds[embeds.shape[0] // 2:]
        return unet(latents, t, encoder_hidden_states=cond).sample
    x = torch.cat([latents, latents])
    if torch.is_tensor(t) and t.ndim == 1:
        t = torch.cat([t, t])
    out = unet(x, t, encoder_hidden_states=embeds).sample
    uncond, cond = out.chunk(2)
    return uncond + guidance * (cond - uncond)


@torch.no_grad()
def sample(unet, scheduler, cond_embeds, uncond_embeds, latent_shape, *, steps: int, guidance: float,
           eta: float, generators, with_logprob: bool = True):
    """Run DDIM from noise. Returns ``(latents (B,C,h,w), trajectory (B,T+1,C,h,w), log_probs (B,T),
    timesteps (T,))``; with ``with_logprob=False`` diffusers' own ``scheduler.step`` is used and
    ``trajectory``/``log_probs`` are ``None`` (the plain baseline of the benchmark)."""
    scheduler.set_timesteps(steps)
    dtype = next(unet.parameters()).dtype
    device = cond_embeds.device
    b = cond_embeds.shape[0]
    latents = torch.stack([torch.randn(latent_shape, generator=g) for g in generators]).to(device, dtype)
    latents = latents * scheduler.init_noise_sigma
    embeds = torch.cat([uncond_embeds, cond_embeds]).to(dtype)
    traj, logps = [latents], []
    for t in scheduler.timesteps:
        eps = guided_eps(unet, scheduler.scale_model_input(latents, t), t, embeds, guidance)
        if with_logprob:
            latents, lp = ddim_step_with_logprob(scheduler, eps, t, latents, eta, generators=generators)
            traj.append(latents)
            logps.append(lp)
        else:
            noise = torch.stack([torch.randn(latent_shape, generator=g) for g in generators]).to(device, eps.dtype)
            latents = scheduler.step(eps, t, latents, eta=eta, variance_noise=noise if eta > 0 else None).prev_sample
    assert latents.shape[0] == b
    if not with_logprob:
        return latents, None, None, scheduler.timesteps
    return latents, torch.stack(traj, 1), torch.stack(logps, 1), scheduler.timesteps.clone()
