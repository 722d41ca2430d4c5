"""A synthetic game for tests and benchmarks: a square the actions move left or right.

Frames are (H, W, 3) uint8: a fixed colour gradient, a white square that ``left``/``right``
move by 4 pixels (``noop`` keeps it), and a red bar that drifts on its own. Small, fast and
action-dependent, so a world model has something to learn without ViZDoom. The square is the
game's one object: its box is recorded in the ``objects`` column, as ViZDoom's labels are.
"""

from __future__ import annotations

import numpy as np

ACTION_NAMES = ["noop", "left", "right"]
NOOP = 0


def synthetic_episode(episode_id: int, length: int, height: int = 48, width: int = 64,
                      seed: int = 0):
    from .episodes import Episode

    rng = np.random.default_rng([seed, episode_id])
    yy, xx = np.mgrid[0:height, 0:width]
    bg = np.stack([xx * 200 // width, yy * 200 // height, np.full_like(xx, 60)], -1).astype(np.uint8)
    size = max(height // 6, 4)
    x = int(rng.integers(0, width - size))
    y = height // 2
    bar = int(rng.integers(0, width))
    frames, actions, boxes = [], [], []
    for _ in range(length):
        f = bg.copy()
        f[y:y + size, x:x + size] = 255
        f[2:5, bar:bar + 8] = (230, 30, 30)
        frames.append(f)
        boxes.append([[x, y, x + size, y + size]])
        a = int(rng.choice(3, p=[0.3, 0.35, 0.35]))
        actions.append(a)
        x = int(np.clip(x + (0, -4, 4)[a], 0, width - size))
        bar = (bar + 2) % width
    return Episode.build(episode_id, np.stack(frames), np.array(actions), objects=boxes)


def write_synthetic(root, episodes: int = 6, length: int = 40, height: int = 48, width: int = 64,
                    seed: int = 0):
    """Write synthetic episodes as an episode folder (``episodes.py`` format)."""
    from .episodes import write_episodes

    eps = [synthetic_episode(i, length, height, width, seed) for i in range(episodes)]
    return write_episodes(root, eps, ACTION_NAMES, NOOP)
