"""``env/gridchase``: move a white dot onto a red target; options ``size``, ``cell``, ``max_steps``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class GridChase(gym.Env):
    """Move a white dot onto a red target on an 8×8 grid; frames are (H, W, 3) uint8."""

    metadata = {"render_modes": ["rgb_array"]}
    action_names = ("NOOP", "UP", "DOWN", "LEFT", "RIGHT")
    noop_action = 0
    _moves = {0: (0, 0), 1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}

    def __init__(self, size: int = 8, cell: int = 4, max_steps: int = 50):
        self.size, self.cell, self.max_steps = size, cell, max_steps
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        side = size * cell
        self.observation_space = gym.spaces.Box(0, 255, (side, side, 3), np.uint8)
        self._rng = np.random.default_rng(0)
        self.pos = np.zeros(2, int)
        self.target = np.zeros(2, int)
        self.t = 0

    def _frame(self) -> np.ndarray:
        side = self.size * self.cell
        f = np.zeros((side, side, 3), np.uint8)
        f[..., 2] = 40
        ty, tx = self.target * self.cell
        f[ty : ty + self.cell, tx : tx + self.cell] = (220, 30, 30)
        py, px = self.pos * self.cell
        f[py : py + self.cell, px : px + self.cell] = (255, 255, 255)
        return f

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.pos = self._rng.integers(0, self.size, 2)
        self.target = self._rng.integers(0, self.size, 2)
        self.t = 0
        return self._frame(), {}

    def step(self, action):
        if not self.action_space.contains(int(action)):
            raise ValueError(f"action {action!r} is not one of 0..{self.action_space.n - 1}")
        self.pos = np.clip(self.pos + self._moves[int(action)], 0, self.size - 1)
        self.t += 1
        hit = bool((self.pos == self.target).all())
        reward = 1.0 if hit else -0.01
        return self._frame(), reward, hit, self.t >= self.max_steps, {}

    def render(self):
        return self._frame()
