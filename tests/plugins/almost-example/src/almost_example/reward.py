"""``reward/brightness``: mean pixel brightness (imports torch at module level on purpose:
the plugin registers it as a ``"module:attr"`` string, so listing plugins never loads torch)."""

from __future__ import annotations

import torch

from almost.protocols import image_batch


class BrightnessReward:
    """Reward = mean brightness of the image, in [0, 1]."""

    name = "brightness"

    def __call__(self, images, prompts) -> torch.Tensor:
        return image_batch(images).mean(dim=(1, 2, 3))
