"""``reward/semicolons``: a toy code lint — the share of characters that end a statement.

A reward for text samples (irgen's C# programs): ``reward(codes, prompts)`` gets the programs
and the IR JSON each was written for, and returns one float per program, higher is better.
It is a toy that steers a model visibly, not a style guide: it stands for any lint or
performance check a third party would plug into ``almost run --plugin irgen refine
--set refine.reward=semicolons``.
"""

from __future__ import annotations

import torch


class SemicolonReward:
    """Reward = 10 × (semicolons / characters), capped at 1; an empty program scores 0."""

    name = "semicolons"

    def __init__(self, scale: float = 10.0) -> None:
        self.scale = float(scale)

    def __call__(self, codes, prompts) -> torch.Tensor:
        return torch.tensor([min(1.0, self.scale * c.count(";") / len(c)) if c.strip() else 0.0 for c in codes])
