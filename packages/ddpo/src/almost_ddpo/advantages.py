"""Advantages for DDPO: rewards normalised per prompt (a running buffer) or per batch.

As in ddpo-pytorch's ``PerPromptStatTracker``: each prompt keeps its last ``buffer_size``
rewards; a prompt with fewer than ``min_count`` of them is normalised with the statistics of
the whole batch instead, so rare prompts do not get noisy advantages.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def batch_advantages(rewards) -> np.ndarray:
    r = np.asarray(rewards, dtype=np.float64)
    return (r - r.mean()) / (r.std() + 1e-6)


class PerPromptStatTracker:
    def __init__(self, buffer_size: int = 32, min_count: int = 8):
        self.buffer_size, self.min_count = buffer_size, min_count
        self.buffers: dict[str, deque] = {}

    def update(self, prompts, rewards) -> np.ndarray:
        prompts = list(prompts)
        r = np.asarray(rewards, dtype=np.float64)
        out = np.empty_like(r)
        for p in sorted(set(prompts)):
            mask = np.array([q == p for q in prompts])
            buf = self.buffers.setdefault(p, deque(maxlen=self.buffer_size))
            buf.extend(r[mask].tolist())
            if len(buf) < self.min_count:
                mean, std = r.mean(), r.std() + 1e-6
            else:
                mean, std = np.mean(buf), np.std(buf) + 1e-6
            out[mask] = (r[mask] - mean) / std
        return out

    def state_dict(self) -> dict:
        return {p: list(b) for p, b in self.buffers.items()}

    def load_state_dict(self, state: dict) -> None:
        self.buffers = {p: deque(v, maxlen=self.buffer_size) for p, v in state.items()}
