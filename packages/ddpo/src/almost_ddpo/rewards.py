"""Reward components (``reward/NAME``): JPEG compressibility, the trained human CNN, the tiny rater.

Each takes float images ``(B, 3, H, W)`` in [0, 1] (or PIL images) and prompts and returns a
float tensor ``(B,)``, higher is better (see :class:`almost.protocols.RewardModel`).
"""

from __future__ import annotations

import io
from pathlib import Path


def as_tensor(images):
    """Float ``(B, 3, H, W)`` in [0, 1] from a tensor or a list of PIL images / uint8 arrays."""
    import numpy as np
    import torch

    if isinstance(images, torch.Tensor):
        return images.float()
    return torch.stack([torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
                        for im in images])


def jpeg_kb(images, quality: int = 95) -> list[float]:
    """Size in kB of each image saved as JPEG (ddpo-pytorch's compressibility measure)."""
    from .pictures import to_pil

    sizes = []
    for im in as_tensor(images):
        buf = io.BytesIO()
        to_pil(im).save(buf, format="JPEG", quality=quality)
        sizes.append(buf.tell() / 1000)
    return sizes


class Compressibility:
    """Reward = −(JPEG size in kB): smaller files (simpler images) score higher."""

    name = "compressibility"

    def __init__(self, quality: int = 95):
        self.quality = quality

    def __call__(self, images, prompts):
        import torch

        return -torch.tensor(jpeg_kb(images, self.quality), dtype=torch.float32)


class Incompressibility(Compressibility):
    """Reward = JPEG size in kB: detailed images score higher."""

    name = "incompressibility"

    def __call__(self, images, prompts):
        return -super().__call__(images, prompts)


class ShapeArea:
    """Reward = share of the image in the prompt's colour (tiny profile: "bigger shapes are better")."""

    name = "shape-area"

    def __call__(self, images, prompts):
        import torch

        from .shapes import shape_area

        return torch.from_numpy(shape_area(as_tensor(images), list(prompts)))


class HumanReward:
    """The latent CNN trained by the ``reward`` stage on human scores (VAE-encodes the images)."""

    name = "human"

    def __init__(self, model_dir: str | Path | None = None, pipe=None, device: str = "cpu"):
        from almost.errors import UserError

        from .reward_cnn import load_reward_cnn

        if model_dir is None:
            raise UserError("reward/human needs the reward stage's folder; run `almost run --plugin ddpo reward` first")
        self.cnn, self.meta = load_reward_cnn(model_dir, device)
        self.pipe = pipe
        self.device = device

    def __call__(self, images, prompts):
        import torch

        from .encoding import encode_images, encode_prompts
        from .loaders import load_pipeline

        if self.pipe is None:
            self.pipe = load_pipeline(self.meta["model"], device=self.device)
        with torch.no_grad():
            lat = encode_images(self.pipe, as_tensor(images).to(self.device))
            text = encode_prompts(self.pipe, list(prompts), pooled=True) if self.meta.get("text_dim") else None
            return self.cnn(lat.float(), text).float().cpu()


def register(registry) -> None:
    # lazy "module:attr" factories: nothing heavy is imported until a run builds one
    m = "almost_ddpo.rewards"
    registry.add("reward", "compressibility", f"{m}:Compressibility", help="−JPEG size in kB (ddpo-pytorch)")
    registry.add("reward", "incompressibility", f"{m}:Incompressibility", help="JPEG size in kB (ddpo-pytorch)")
    registry.add("reward", "human", f"{m}:HumanReward", help="latent CNN trained on your scores (reward stage)")
    registry.add("reward", "shape-area", f"{m}:ShapeArea", help="share of pixels in the prompt's colour (tiny rater)")
