"""A reward model: sharper images score higher."""

import torch

from almost.protocols import image_batch


class Sharpness:
    """Reward = mean absolute horizontal gradient of the image (higher: sharper)."""

    name = "sharpness"

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def __call__(self, images, prompts) -> torch.Tensor:
        x = image_batch(images)  # a (B, 3, H, W) tensor in [0, 1], or a list of PIL images
        return self.scale * (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2, 3))
