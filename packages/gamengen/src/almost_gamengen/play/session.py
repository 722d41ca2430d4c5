"""What the play server drives: a *session* that turns actions into frames.

Two kinds share one small interface, so the page can switch between them:

* :class:`EnvSession` wraps any registered Environment (the real game, or the world-model
  environment :class:`almost_gamengen.worldmodel_env.WorldModelEnv`);
* options (``steps``, ``noise_level``) are forwarded to environments that accept them via
  ``set_options`` — the world model does, a real game has none.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class EnvSession:
    """Drive an Environment frame by frame; resets by itself when an episode ends."""

    def __init__(self, name: str, env: Any, seed: int = 0) -> None:
        self.name = name
        self.env = env
        self.action_names = list(env.action_names)
        self.noop_action = int(env.noop_action)
        self.seed = seed
        self.frame: np.ndarray | None = None

    def options(self) -> dict[str, Any]:
        get = getattr(self.env, "get_options", None)
        return dict(get()) if get else {}

    def set_options(self, **options: Any) -> dict[str, Any]:
        setter = getattr(self.env, "set_options", None)
        if setter is None:
            return {}
        setter(**options)
        return self.options()

    def reset(self) -> np.ndarray:
        self.seed += 1
        self.frame, _ = self.env.reset(seed=self.seed)
        return self.frame

    def step(self, action: int) -> np.ndarray:
        if self.frame is None:
            return self.reset()
        frame, _, terminated, truncated, _ = self.env.step(int(action))
        self.frame = frame
        if terminated or truncated:
            return self.reset()
        return frame

    def close(self) -> None:
        self.env.close()
