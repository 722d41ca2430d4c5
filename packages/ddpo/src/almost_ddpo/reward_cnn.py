"""The latent CNN reward model: VAE latents ``(B, 4, h, w)`` (+ prompt vectors) → a score ``(B,)``.

Conv → GroupNorm → SiLU blocks (stride 2 after the first), then — as in the seed — an average
pool to a ``pool × pool`` grid that keeps *where* things are (a face in the middle is not a
face in the corner), flattened into a small MLP head beside the global average of the same
features (what the picture holds, wherever it is: a grid alone must learn that once per cell,
see the study in ``benchmarks/README.md``). ``pool=0`` is the global-average variant (layout
discarded). With ``text_dim > 0`` the head also gets the prompt's pooled text
embedding, so the same picture can be good for one prompt and bad for another.

Saved as ``reward_cnn.safetensors`` + ``reward_cnn.json`` (its shape, the score scale it was
trained on, the diffusion model whose VAE made the latents).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from almost.errors import UserError
from almost.io import read_json


def effective_pool(pool: int, latent_hw: tuple[int, int], depth: int) -> int:
    """The grid the head sees: ``pool``, but never finer than the last feature map."""
    if pool <= 0:
        return 0
    h, w = latent_hw
    for _ in range(depth - 1):
        h, w = (h + 1) // 2, (w + 1) // 2
    return max(1, min(pool, h, w))


class LatentCNN(nn.Module):
    def __init__(self, in_channels: int = 4, width: int = 32, depth: int = 3, pool: int = 0, text_dim: int = 0,
                 hidden: int = 64):
        super().__init__()
        layers, c = [], in_channels
        for i in range(depth):
            w = width * 2**i
            layers += [nn.Conv2d(c, w, 3, stride=2 if i else 1, padding=1), nn.GroupNorm(8, w), nn.SiLU()]
            c = w
        self.body = nn.Sequential(*layers)
        self.pool = pool
        self.text_dim = text_dim
        if pool:
            self.squeeze = nn.Conv2d(c, 16, 1)  # keep the flattened grid small: 16 × pool²
            feat = c + 16 * pool * pool
        else:
            self.squeeze = None
            feat = c
        self.fc = nn.Linear(feat, hidden)
        self.text = nn.Linear(text_dim, hidden) if text_dim else None
        self.head = nn.Linear(hidden, 1)

    def forward(self, latents: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        f = self.body(latents)
        if self.pool:
            grid = nn.functional.adaptive_avg_pool2d(self.squeeze(f), self.pool).flatten(1)
            f = torch.cat([f.mean(dim=(2, 3)), grid], dim=1)
        else:
            f = f.mean(dim=(2, 3))
        h = self.fc(f)
        if self.text is not None:
            if text is None:
                raise UserError("this reward model is prompt-conditioned; it needs the prompts of the images")
            h = h + self.text(text.to(h.dtype))
        return self.head(nn.functional.silu(h)).squeeze(-1)


def build_from_meta(meta: dict) -> LatentCNN:
    return LatentCNN(meta["in_channels"], meta["width"], meta["depth"], meta.get("pool", 0), meta.get("text_dim", 0))


def save_reward_cnn(model: LatentCNN, folder: str | Path, meta: dict) -> None:
    from almost.io import atomic_write_json
    from almost.train.checkpoint import save_safetensors

    folder = Path(folder)
    save_safetensors(model.state_dict(), folder / "reward_cnn.safetensors")
    atomic_write_json(folder / "reward_cnn.json", meta)


def load_reward_cnn(folder: str | Path, device: str = "cpu") -> tuple[LatentCNN, dict]:
    from almost.train.checkpoint import load_safetensors

    folder = Path(folder)
    if not (folder / "reward_cnn.json").is_file():
        raise UserError(f"{folder} holds no trained reward model (reward_cnn.json); run the reward stage first")
    meta = read_json(folder / "reward_cnn.json", "reward model record")
    model = build_from_meta(meta)
    model.load_state_dict(load_safetensors(folder / "reward_cnn.safetensors"))
    return model.to(device).eval(), meta
