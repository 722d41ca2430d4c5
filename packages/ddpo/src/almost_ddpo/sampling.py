"""Sampling images from a loaded pipeline: prompts and seeds in, float images out.

Every image gets its own ``torch.Generator`` seeded with its seed, so the same prompt and seed
give the same image whatever the batch (used for the before/after comparison of ``policy``).
"""

from __future__ import annotations

import torch

from .ddim import sample
from .encoding import decode_latents, encode_prompts, latent_size


@torch.no_grad()
def sample_images(pipe, prompts, seeds, *, steps: int, guidance: float, eta: float, negative_prompt: str = "",
                  height: int = 0, width: int = 0, batch_size: int = 16, with_logprob: bool = False):
    """Images ``(B, 3, H, W)`` in [0, 1] for ``prompts[i]`` with ``seeds[i]``, and their latents."""
    h, w = latent_size(pipe, height, width)
    shape = (pipe.unet.config.in_channels, h, w)
    images, latents_all = [], []
    for i in range(0, len(prompts), batch_size):
        ps, ss = list(prompts[i:i + batch_size]), list(seeds[i:i + batch_size])
        cond = encode_prompts(pipe, ps)
        uncond = encode_prompts(pipe, [negative_prompt] * len(ps))
        gens = [torch.Generator().manual_seed(int(s)) for s in ss]
        lat, *_ = sample(pipe.unet, pipe.scheduler, cond, uncond, shape, steps=steps, guidance=guidance,
                         eta=eta, generators=gens, with_logprob=with_logprob)
        images.append(decode_latents(pipe, lat).cpu())
        latents_all.append(lat.cpu())
    return torch.cat(images), torch.cat(latents_all)
