"""A small game: move the paddle to catch a falling ball."""

import gymnasium as gym
import numpy as np


class Catch(gym.Env):
    """A ball falls from a random column; the paddle moves LEFT/RIGHT. +1 catch, -1 miss."""

    metadata = {"render_modes": ["rgb_array"]}
    action_names = ("NOOP", "LEFT", "RIGHT")
    noop_action = 0

    def __init__(self, size: int = 10, cell: int = 3, max_steps: int = 200):
        self.size, self.cell, self.max_steps = size, cell, max_steps
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        side = size * cell
        self.observation_space = gym.spaces.Box(0, 255, (side, side, 3), np.uint8)
        self._rng = np.random.default_rng()
        self.ball = np.zeros(2, int)
        self.paddle, self.t = 0, 0

    def _frame(self) -> np.ndarray:
        c = self.cell
        f = np.zeros(self.observation_space.shape, np.uint8)
        y, x = self.ball * c
        f[y:y + c, x:x + c] = (250, 200, 40)
        f[-c:, self.paddle * c:(self.paddle + 1) * c] = (255, 255, 255)
        return f

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.ball = np.array([0, self._rng.integers(self.size)])
        self.paddle = int(self._rng.integers(self.size))
        self.t = 0
        return self._frame(), {}

    def step(self, action):
        self.paddle = int(np.clip(self.paddle + (0, -1, 1)[int(action)], 0, self.size - 1))
        self.ball[0] += 1
        self.t += 1
        reward, terminated = 0.0, False
        if self.ball[0] == self.size - 1:
            reward = 1.0 if self.ball[1] == self.paddle else -1.0
            self.ball = np.array([0, self._rng.integers(self.size)])
        return self._frame(), reward, terminated, self.t >= self.max_steps, {}

    def render(self):
        return self._frame()
