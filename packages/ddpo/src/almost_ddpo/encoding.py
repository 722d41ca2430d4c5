"""What goes into and comes out of the diffusion model: prompt embeddings and latents.

:func:`encode_prompts` is the one prompt encoder (tokenise with :func:`prompt_ids`, run the text
encoder): per-token embeddings ``(B, L, D)`` for the UNet, or with ``pooled=True`` one vector per
prompt for the reward model's head. :func:`decode_latents` / :func:`encode_images` /
:func:`encode_files` cross between pixels in [0, 1] and the VAE's scaled latents.
"""

from __future__ import annotations

from almost.errors import UserError


def prompt_ids(tokenizer, prompts: list[str], device=None):
    """Token ids ``(B, L)`` of ``prompts``, padded (and cut) to the tokenizer's ``model_max_length``."""
    ids = tokenizer(list(prompts), padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return ids if device is None else ids.to(device)


def encode_prompts(pipe, prompts: list[str], *, pooled: bool = False):
    """Text embeddings of ``prompts`` with the pipeline's tokenizer and encoder (no gradient):
    per token ``(B, L, D)`` in the encoder's dtype, or with ``pooled`` the pooled output ``(B, D)``
    in float32 (one vector per prompt)."""
    import torch

    ids = prompt_ids(pipe.tokenizer, prompts, pipe.text_encoder.device)
    with torch.no_grad():
        out = pipe.text_encoder(ids)
    return out[1].float() if pooled else out[0]


def decode_latents(pipe, latents):
    """Latents → float images ``(B, 3, H, W)`` in [0, 1]."""
    vae = pipe.vae
    x = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor).sample
    return (x.float() / 2 + 0.5).clamp(0, 1)


def encode_images(pipe, images):
    """Float images ``(B, 3, H, W)`` in [0, 1] → scaled latents (the distribution's mean)."""
    vae = pipe.vae
    dist = vae.encode((images * 2 - 1).to(vae.device, vae.dtype)).latent_dist
    return dist.mean * vae.config.scaling_factor


def encode_files(vae, files, batch_size: int = 8):
    """Scaled latents (float32, on the CPU) of image files, ``batch_size`` at a time on the VAE's
    device and dtype; only one batch of pixels is ever in memory. On a CPU the VAE encodes one
    image at a time inside a batch (its activations at 512 px are ~0.7 GB per image)."""
    import numpy as np
    import torch
    from PIL import Image

    files = list(files)
    if vae.device.type == "cpu":
        vae.enable_slicing()
    out = []
    with torch.inference_mode():
        for k in range(0, len(files), batch_size):
            arrs = [np.asarray(Image.open(f).convert("RGB")) for f in files[k:k + batch_size]]
            groups: dict[tuple, list[int]] = {}
            for i, a in enumerate(arrs):
                groups.setdefault(a.shape, []).append(i)
            lat: list = [None] * len(arrs)
            for idx in groups.values():
                x = torch.from_numpy(np.stack([arrs[i] for i in idx])).permute(0, 3, 1, 2)
                x = x.to(vae.device).to(vae.dtype) / 127.5 - 1
                z = vae.encode(x).latent_dist.mean * vae.config.scaling_factor
                for i, zi in zip(idx, z.float().cpu()):
                    lat[i] = zi
            out.extend(lat)
    if not out:
        return torch.empty(0)
    shapes = {tuple(z.shape) for z in out}
    if len(shapes) > 1:
        raise UserError(f"the labelled images have different sizes ({len(shapes)} latent shapes); "
                        "the reward model needs one image size — score images of one size per run")
    return torch.stack(out)


def latent_size(pipe, height: int = 0, width: int = 0) -> tuple[int, int]:
    """Latent ``(h, w)`` for an image size (0: the model's default)."""
    factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    default = pipe.unet.config.sample_size * factor
    h, w = height or default, width or default
    mult = factor * 2 ** (len(pipe.unet.config.block_out_channels) - 1)
    if h % mult or w % mult:
        raise UserError(f"image size {h}×{w} must be a multiple of {mult} for this model; change generate.height/width")
    return h // factor, w // factor
