"""Reward shaping for diverse, human-like play, after the GameNGen paper (appendix A.5).

The agent's reward is the sum of these terms, times ``scale``, plus the game's own reward
times ``env_weight``:

=====================  ======================================  ==========================
event                  from ``info["game_variables"]``         points
=====================  ======================================  ==========================
enemy hit              HITCOUNT rises                          +300 per hit
enemy kill             KILLCOUNT rises                         +1000 per kill
item / weapon pick-up  ITEMCOUNT rises                         +100 per item
secret found           SECRETCOUNT rises                       +500
new area               (POSITION_X, POSITION_Y) enters a       +20 × (1 + 0.5 × L1 cells
                       grid cell not visited this episode      from the episode's start)
health delta           HEALTH change                           10 × delta
armor delta            ARMOR change                            10 × delta
ammo delta             SELECTED_WEAPON_AMMO change             10 × max(0, d) + min(0, d)
player hit             HITS_TAKEN rises                        −100 per hit
player death           DEAD becomes 1, or a terminated         −5000
                       episode with HEALTH ≤ 0
=====================  ======================================  ==========================

Where the environment reports no game variables (any non-ViZDoom game, e.g. the example
plugin's ``gridchase``), the wrapper passes the environment's own reward through
unchanged. The shaped reward goes to the agent; ``info["env_reward"]`` keeps the game's.
"""

from __future__ import annotations

import gymnasium as gym

POINTS = {
    "hit": 300.0,
    "kill": 1000.0,
    "item": 100.0,
    "secret": 500.0,
    "area": 20.0,
    "health": 10.0,
    "armor": 10.0,
    "ammo": 10.0,
    "hurt": -100.0,
    "death": -5000.0,
}


def shaped_terms(
    prev: dict, cur: dict, new_cell_distance: int | None, died: bool
) -> dict[str, float]:
    """Points per event between two readings of the game variables (see module doc)."""

    def delta(name: str) -> float:
        if name not in prev or name not in cur:
            return 0.0
        return cur[name] - prev[name]

    ammo = (
        delta("SELECTED_WEAPON_AMMO")
        if cur.get("SELECTED_WEAPON_AMMO", -1) >= 0 and prev.get("SELECTED_WEAPON_AMMO", -1) >= 0
        else 0.0
    )
    terms = {
        "hit": POINTS["hit"] * max(0.0, delta("HITCOUNT")),
        "kill": POINTS["kill"] * max(0.0, delta("KILLCOUNT")),
        "item": POINTS["item"] * max(0.0, delta("ITEMCOUNT")),
        "secret": POINTS["secret"] * max(0.0, delta("SECRETCOUNT")),
        "area": 0.0
        if new_cell_distance is None
        else POINTS["area"] * (1 + 0.5 * new_cell_distance),
        "health": POINTS["health"] * delta("HEALTH"),
        "armor": POINTS["armor"] * delta("ARMOR"),
        "ammo": POINTS["ammo"] * max(0.0, ammo) + min(0.0, ammo),
        "hurt": POINTS["hurt"] * max(0.0, delta("HITS_TAKEN")),
        "death": POINTS["death"] if died else 0.0,
    }
    return terms


class ShapedReward(gym.Wrapper):
    """Replace the reward by ``env_weight × r + scale × Σ shaped terms`` (module doc)."""

    def __init__(
        self, env: gym.Env, scale: float = 0.001, env_weight: float = 1.0, cell_size: float = 128.0
    ):
        super().__init__(env)
        self.scale, self.env_weight, self.cell_size = (
            float(scale),
            float(env_weight),
            float(cell_size),
        )
        self._prev: dict = {}
        self._visited: set[tuple[int, int]] = set()
        self._start: tuple[int, int] | None = None

    def __getattr__(self, name):  # action_names, noop_action, ... of the wrapped env
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.env, name)

    def _cell(self, v: dict) -> tuple[int, int] | None:
        if "POSITION_X" not in v or "POSITION_Y" not in v:
            return None
        return int(v["POSITION_X"] // self.cell_size), int(v["POSITION_Y"] // self.cell_size)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._prev = dict(info.get("game_variables") or {})
        cell = self._cell(self._prev)
        self._visited = {cell} if cell is not None else set()
        self._start = cell
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        cur = info.get("game_variables")
        info = dict(info, env_reward=float(reward))
        if not cur:
            return obs, reward, terminated, truncated, info
        cell = self._cell(cur)
        dist = None
        if cell is not None and cell not in self._visited:
            self._visited.add(cell)
            if self._start is not None:
                dist = abs(cell[0] - self._start[0]) + abs(cell[1] - self._start[1])
        died = bool(cur.get("DEAD", 0) > 0 and not self._prev.get("DEAD", 0)) or (
            terminated and cur.get("HEALTH", 1) <= 0
        )
        terms = shaped_terms(self._prev, cur, dist, died)
        self._prev = dict(cur)
        info["shaping"] = terms
        return (
            obs,
            self.env_weight * float(reward) + self.scale * sum(terms.values()),
            terminated,
            truncated,
            info,
        )


class ScaledReward(gym.RewardWrapper):
    """Multiply the reward the learner sees by ``scale`` (outermost, after ``Monitor``, so the
    logged episode returns keep their own units).

    PPO's value head and policy share one CNN and one clipped gradient norm: returns in the
    hundreds (ViZDoom ``basic``: −4 a step, −5 a shot, +101 a kill) give value losses of
    ~10⁴ whose gradient swamps the policy's, and the policy drifts to one action. Scaled to
    returns of order 1 (``agent.reward_scale`` 0.01 on ``basic``) it learned to aim and shoot
    within 8k–16k steps (benchmarks/README.md, agent study)."""

    def __init__(self, env: gym.Env, scale: float):
        super().__init__(env)
        self.scale = float(scale)

    def reward(self, reward):
        return self.scale * float(reward)
