"""Procedural coloured shapes with prompts ("a red circle"): the tiny profile's training set.

Images are ``uint8`` ``(S, S, 3)`` arrays: one filled shape of a named colour on a dark,
slightly tinted background, at a random place and size. :func:`shape_area` measures how much of
an image has the prompt's colour — the scripted rater of the tiny profile prefers big shapes.
"""

from __future__ import annotations

import numpy as np

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 215, 40),
}
SHAPES = ("circle", "square", "triangle")


def all_prompts() -> list[str]:
    """Every prompt of the procedural set: ``a {colour} {shape}``."""
    return [f"a {c} {s}" for c in COLORS for s in SHAPES]


def vocabulary() -> list[str]:
    """The words a tokenizer for these prompts needs."""
    return ["a", *COLORS, *SHAPES]


def parse_prompt(prompt: str) -> tuple[str | None, str | None]:
    """``"a red circle"`` → ``("red", "circle")``; unknown words give ``None``."""
    words = prompt.lower().split()
    color = next((w for w in words if w in COLORS), None)
    shape = next((w for w in words if w in SHAPES), None)
    return color, shape


def render(color: str, shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One image: a ``shape`` of ``color`` at a random place and radius."""
    bg = rng.integers(20, 50, 3)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = bg
    r = rng.uniform(0.18, 0.38) * size
    cy, cx = rng.uniform(r, size - r, 2)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    if shape == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    elif shape == "square":
        mask = (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
    elif shape == "triangle":
        top, bottom = cy - r, cy + r * 0.8
        half = (yy - top) / (bottom - top) * r
        mask = (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= half)
    else:
        raise ValueError(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}")
    img[mask] = COLORS[color]
    return img


def make_dataset(n: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``n`` images ``(n, S, S, 3)`` uint8 and their prompts, covering every prompt evenly."""
    rng = np.random.default_rng(seed)
    prompts = all_prompts()
    images, texts = [], []
    for i in range(n):
        p = prompts[i % len(prompts)]
        color, shape = parse_prompt(p)
        images.append(render(color, shape, size, rng))
        texts.append(p)
    return np.stack(images), texts


def shape_area(images, prompts) -> np.ndarray:
    """Share of pixels close to the prompt's colour, per image (``images``: float ``(B,3,H,W)`` in [0,1])."""
    import torch

    x = images.detach().float().cpu() if isinstance(images, torch.Tensor) else torch.as_tensor(images)
    out = np.zeros(len(prompts), np.float32)
    for i, p in enumerate(prompts):
        color, _ = parse_prompt(p)
        if color is None:
            continue
        ref = torch.tensor(COLORS[color], dtype=torch.float32).view(3, 1, 1) / 255.0
        dist = (x[i] - ref).abs().amax(dim=0)
        out[i] = float((dist < 0.25).float().mean())
    return out
