"""The frame autoencoder (diffusers ``AutoencoderKL``): build, load, encode, decode.

Frames are uint8 (B, H, W, 3); the VAE sees them in [-1, 1]. Latents handed to the world
model are the posterior *means* multiplied by the VAE's ``scaling_factor`` (SD 1.x: 0.18215;
a from-scratch VAE gets 1 / std of its latents once fitted), so they have about unit scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import torch

from almost.errors import UserError

from .world_model import check_sd_layout, offline


def build_tiny_vae(block_out_channels, frame_hw: tuple[int, int], latent_channels: int = 4,
                   layers_per_block: int = 1):
    """A small AutoencoderKL with ``latent_channels`` channels and no attention (cheap on a CPU)."""
    from diffusers import AutoencoderKL

    levels = len(block_out_channels)
    factor = 2 ** (levels - 1)
    if frame_hw[0] % factor or frame_hw[1] % factor:
        raise UserError(
            f"frames of {frame_hw[0]}×{frame_hw[1]} pixels cannot be halved {levels - 1} times by "
            "the VAE; pick env.height/env.width divisible by "
            f"{factor} or fewer encode.vae_block_out_channels"
        )
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=int(latent_channels),
        down_block_types=["DownEncoderBlock2D"] * levels,
        up_block_types=["UpDecoderBlock2D"] * levels,
        block_out_channels=list(block_out_channels), layers_per_block=int(layers_per_block),
        norm_num_groups=min(8, block_out_channels[0]), sample_size=max(frame_hw),
        mid_block_add_attention=False,
    )


def load_vae(path: str | Path, subfolder: str | None = None):
    """An AutoencoderKL saved in diffusers layout (``path`` or ``path/subfolder``)."""
    from diffusers import AutoencoderKL

    offline()
    p = Path(path) / subfolder if subfolder else Path(path)
    if not (p / "config.json").is_file():
        raise UserError(f"{p} is not a diffusers VAE folder (no config.json); re-run the stage that writes it")
    # fp32 whatever the stored dtype (the shipped VAE is stored in fp16 to stay small)
    return AutoencoderKL.from_pretrained(p, torch_dtype=torch.float32)


PRETRAINED = Path(__file__).parent.parent / "pretrained"  # package data at the package root (the wheel ships it)


def shipped_vae_dir(frame_hw: tuple[int, int]) -> Path | None:
    """The pretrained tiny VAE shipped in the package for ``frame_hw`` frames
    (``pretrained/vae-<H>x<W>/``, trained by ``benchmarks/train_tiny_vae.py``), or None."""
    d = PRETRAINED / f"vae-{int(frame_hw[0])}x{int(frame_hw[1])}"
    return d if (d / "config.json").is_file() else None


def load_sd_vae(pretrained: str | Path):
    return load_vae(check_sd_layout(pretrained), "vae")


def latent_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def frames_to_input(frames) -> torch.Tensor:
    """uint8 (B, H, W, 3) → float (B, 3, H, W) in [-1, 1]."""
    t = torch.as_tensor(frames)
    return t.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def output_to_unit(x: torch.Tensor) -> torch.Tensor:
    """VAE output in [-1, 1] → [0, 1]."""
    return x.float().add(1.0).div(2.0).clamp(0.0, 1.0)


@torch.no_grad()
def encode_frames(vae, frames, device="cpu") -> torch.Tensor:
    """uint8 frames → scaled latent means (B, 4, h, w), float32 on the CPU."""
    x = frames_to_input(frames).to(device, next(vae.parameters()).dtype)
    return (vae.encode(x).latent_dist.mean * vae.config.scaling_factor).float().cpu()


@torch.no_grad()
def decode_latents(vae, latents: torch.Tensor, crop: tuple[int, int] | None = None) -> torch.Tensor:
    """Scaled latents → frames in [0, 1], (B, 3, H, W) float32 on the CPU; ``crop`` drops
    the padding (keeps the top-left H×W)."""
    p = next(vae.parameters())
    z = latents.to(p.device, p.dtype) / vae.config.scaling_factor
    out = output_to_unit(vae.decode(z).sample).cpu()
    return out if crop is None else out[:, :, : crop[0], : crop[1]]


def to_uint8_hwc(frames01: torch.Tensor):
    """(B, 3, H, W) in [0, 1] → numpy uint8 (B, H, W, 3)."""
    return (frames01.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def padded_size(frame_shape, env_cfg) -> tuple[int, int]:
    """The frame size the VAE sees: ``env.pad_height``/``env.pad_width`` when set (GameNGen pads
    320×240 Doom frames to 320×256), else the recorded size."""
    h, w = int(frame_shape[0]), int(frame_shape[1])
    ph = int(getattr(env_cfg, "pad_height", 0) or h)
    pw = int(getattr(env_cfg, "pad_width", 0) or w)
    if ph < h or pw < w:
        raise UserError(f"env.pad_height/pad_width ({ph}×{pw}) are smaller than the recorded "
                        f"frames ({h}×{w}); set them to at least the frame size or to 0")
    return ph, pw


def pad_frames(frames, size: tuple[int, int]):
    """Pad uint8 (B, H, W, 3) frames with black at the bottom and right to ``size``."""
    import numpy as np

    frames = np.asarray(frames)
    dh, dw = size[0] - frames.shape[1], size[1] - frames.shape[2]
    if dh == 0 and dw == 0:
        return frames
    return np.pad(frames, ((0, 0), (0, dh), (0, dw), (0, 0)))


@attrs.frozen(eq=False)
class FrameCodec:
    """The VAE at a run's frame geometry: uint8 frames go in padded to ``size``, latents come
    out decoded and cropped back to ``crop`` (the recorded frame size)."""

    vae: Any
    size: tuple[int, int]
    crop: tuple[int, int]

    @classmethod
    def for_store(cls, vae, store) -> FrameCodec:
        """The geometry of a :class:`~almost_gamengen.model.latents.LatentStore`."""
        crop = tuple(store.frame_shape[:2])
        return cls(vae, tuple(store.index.get("padded_size", crop)), crop)

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    def encode(self, frames, device=None) -> torch.Tensor:
        """uint8 (N, H, W, 3) → scaled latent means (N, 4, h, w), float32 on the CPU."""
        return encode_frames(self.vae, pad_frames(frames, self.size), self.device if device is None else device)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents → frames (N, 3, H, W) in [0, 1] on the CPU, the padding cropped off."""
        return decode_latents(self.vae, latents, self.crop)
