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


class DdimSampler:
    """``sampler/ddpo-ddim``: the generate stage's sampler, DDIM with the ``generate`` settings.

    Built with ``ctx`` (the stage's RunContext: ``generate.steps``, ``guidance``, ``eta``,
    ``negative_prompt``, ``height``, ``width``, ``batch_size``) and ``pipe`` (the loaded model,
    with the round's LoRA). A condition is a prompt, or ``(prompt, seed)`` — the image then
    depends on its own seed only; plain prompts take their seeds from ``generator``. Returns one
    float image ``(3, H, W)`` in [0, 1] per condition.
    """

    label = "DDIM"  # what the sidecar records call it

    def __init__(self, ctx, pipe):
        self.cfg, self.pipe = ctx.config.generate, pipe

    def example_conditions(self) -> list:
        return [(p, i) for i, p in enumerate(self.cfg.prompts[:2] * (2 if len(self.cfg.prompts) < 2 else 1))]

    def sample(self, conditions, *, generator=None) -> list:
        conds = [c if isinstance(c, tuple | list) else (c, None) for c in conditions]
        drawn = iter(torch.randint(2**31 - 1, (len(conds),), generator=generator).tolist())
        prompts = [p for p, _ in conds]
        seeds = [s if s is not None else next(drawn) for _, s in conds]
        cfg = self.cfg
        images, _ = sample_images(self.pipe, prompts, seeds, steps=cfg.steps, guidance=cfg.guidance, eta=cfg.eta,
                                  negative_prompt=cfg.negative_prompt, height=cfg.height, width=cfg.width,
                                  batch_size=cfg.batch_size)
        return list(images)
