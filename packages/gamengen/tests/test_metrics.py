""":mod:`almost_gamengen.model.metrics`: object fidelity from the game's labels and sharpness."""

from __future__ import annotations

import numpy as np
import pytest
import torch


# -- the figures ------------------------------------------------------------------------------
def _room_with_monster(n=16, seed=0):
    """Frames of a textured room with a small monster (a 4×5 red blob) at a random place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64]
    room = np.stack([90 + 20 * np.sin(xx / 3.0), 80 + 10 * np.cos(yy / 2.0), 70 + 0 * xx], 0) / 255.0
    real, empty, boxes = [], [], []
    for _ in range(n):
        x, y = int(rng.integers(5, 55)), int(rng.integers(10, 38))
        f = torch.tensor(room, dtype=torch.float32)
        empty.append(f.clone())
        f[:, y:y + 5, x:x + 4] = torch.tensor([0.85, 0.1, 0.1])[:, None, None]
        real.append(f)
        boxes.append(np.array([[x, y, x + 4, y + 5]]))
    return torch.stack(real), torch.stack(empty), boxes


def test_a_model_that_drops_the_monster_scores_clearly_lower_on_the_objects():
    from almost_gamengen.model.metrics import box_masks, psnr, psnr_masked

    real, empty, boxes = _room_with_monster()
    g = torch.Generator().manual_seed(0)
    noise = 0.03 * torch.randn(real.shape, generator=g)
    paints_it = (real + noise).clamp(0, 1)  # the room and the monster, a little noisy
    drops_it = (empty + noise).clamp(0, 1)  # the same room, the monster never there
    mask = box_masks(boxes, (48, 64))
    whole_gap = float(psnr(paints_it, real).mean() - psnr(drops_it, real).mean())
    obj_gap = psnr_masked(paints_it, real, mask) - psnr_masked(drops_it, real, mask)
    assert whole_gap < 3.5  # the whole frame barely notices 20 of 3072 pixels
    assert obj_gap > 15  # inside the boxes the missing monster is everything
    assert np.isnan(psnr_masked(real, real, torch.zeros_like(mask)))


def test_sharpness_ratio_is_one_for_the_game_and_low_for_blur():
    from almost_gamengen.model.metrics import sharpness_ratio

    real, _, _ = _room_with_monster()
    blurred = torch.nn.functional.avg_pool2d(real, 3, stride=1, padding=1, count_include_pad=False)
    assert sharpness_ratio(real, real) == pytest.approx(1.0)
    assert sharpness_ratio(blurred, real) < 0.5
    assert sharpness_ratio((real + 0.05 * torch.randn(real.shape)).clamp(0, 1), real) > 1.5
