"""The seed's small latent CNN reward model: VAE latents ``(B, 4, h, w)`` → a score ``(B,)``.

Saved as ``reward_cnn.safetensors`` + ``reward_cnn.json`` (its shape, the score scale it was
trained on, the diffusion model whose VAE made the latents).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from almost.errors import UserError
from almost.io import read_json


class LatentCNN(nn.Module):
    """Conv → SiLU blocks with stride 2, global average pool, linear head."""

    def __init__(self, in_channels: int = 4, width: int = 32, depth: int = 3):
        super().__init__()
        layers, c = [], in_channels
        for i in range(depth):
            w = width * 2**i
            layers += [nn.Conv2d(c, w, 3, stride=2 if i else 1, padding=1), nn.GroupNorm(8, w), nn.SiLU()]
            c = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, 1)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(latents).mean(dim=(2, 3))).squeeze(-1)


def save_reward_cnn(model: LatentCNN, folder: str | Path, meta: dict) -> None:
    from almost.checkpoint import save_safetensors
    from almost.io import atomic_write_json

    folder = Path(folder)
    save_safetensors(model.state_dict(), folder / "reward_cnn.safetensors")
    atomic_write_json(folder / "reward_cnn.json", meta)


def load_reward_cnn(folder: str | Path, device: str = "cpu") -> tuple[LatentCNN, dict]:
    from almost.checkpoint import load_safetensors

    folder = Path(folder)
    if not (folder / "reward_cnn.json").is_file():
        raise UserError(f"{folder} holds no trained reward model (reward_cnn.json); run the reward stage first")
    meta = read_json(folder / "reward_cnn.json", "reward model record")
    model = LatentCNN(meta["in_channels"], meta["width"], meta["depth"])
    model.load_state_dict(load_safetensors(folder / "reward_cnn.safetensors"))
    return model.to(device).eval(), meta
