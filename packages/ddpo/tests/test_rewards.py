"""The built-in rewards."""

from __future__ import annotations


def test_compressibility_prefers_flat_images():
    import torch

    from almost_ddpo.rewards import Compressibility, Incompressibility

    flat = torch.full((1, 3, 32, 32), 0.5)
    noisy = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    images = torch.cat([flat, noisy])
    c, i = Compressibility()(images, ["", ""]), Incompressibility()(images, ["", ""])
    assert c[0] > c[1] and i[1] > i[0] and torch.allclose(c, -i)
