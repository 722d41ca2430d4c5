"""Policies that play while ``collect`` records: a trained PPO agent, random, or scripted.

Each has ``reset(seed)`` (called at the start of every episode, so an episode's actions
depend only on its own seed, not on which process played it) and ``act(frame) -> int``.

* ``agent``: the stable-baselines3 PPO policy that the ``agent`` stage saved
  (``<run>/agent/policy.zip``), or any PPO zip given as ``collect.policy_path``; actions
  are sampled (not argmax) unless ``collect.deterministic``.
* ``random``: uniform over all actions.
* ``scripted``: "sticky" random play that looks more like a person's: it holds an action
  for 1–8 steps, prefers moving forward and turning, and fires now and then. Works for any
  game; the ViZDoom action names just make the preference meaningful.

:class:`PolicyFrames` upscales frames smaller than the CNN's 36-pixel minimum (the toy
``gridchase`` game draws 32×32) for the agent's eyes only; recordings keep the real frames.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from almost.errors import UserError

MIN_SIDE = 36  # NatureCNN (8/4, 4/2, 3/1) needs at least 36×36 pixels


def upscale_factor(shape) -> int:
    h, w = int(shape[0]), int(shape[1])
    return max(1, -(-MIN_SIDE // min(h, w)))


def upscale(frame: np.ndarray, k: int) -> np.ndarray:
    return frame if k == 1 else np.repeat(np.repeat(frame, k, axis=0), k, axis=1)


class PolicyFrames(gym.ObservationWrapper):
    """Nearest-neighbour upscale so that the policy's CNN can see small frames."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.k = upscale_factor(env.observation_space.shape)
        h, w, c = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (h * self.k, w * self.k, c), np.uint8)

    def observation(self, observation):
        return upscale(np.asarray(observation), self.k)


class RandomPolicy:
    def __init__(self, n_actions: int):
        self.n = int(n_actions)
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, frame) -> int:
        return int(self.rng.integers(self.n))


class ScriptedPolicy(RandomPolicy):
    """Sticky random play with a taste for moving forward, turning and shooting."""

    _LIKES = {
        "MOVE_FORWARD": 4.0,
        "TURN_LEFT": 2.0,
        "TURN_RIGHT": 2.0,
        "ATTACK": 1.5,
        "MOVE_FORWARD+ATTACK": 2.0,
        "NOOP": 0.5,
    }

    def __init__(self, action_names):
        super().__init__(len(action_names))
        w = np.array([self._LIKES.get(n, 1.0) for n in action_names], float)
        self.p = w / w.sum()
        self.current, self.left = 0, 0

    def reset(self, seed: int) -> None:
        super().reset(seed)
        self.current, self.left = 0, 0

    def act(self, frame) -> int:
        if self.left <= 0:
            self.current = int(self.rng.choice(self.n, p=self.p))
            self.left = int(self.rng.integers(1, 9))
        self.left -= 1
        return self.current


class PPOPolicy:
    """A saved stable-baselines3 PPO policy (zip), on the CPU unless told otherwise."""

    def __init__(
        self,
        path: str | Path,
        action_names,
        frame_shape,
        deterministic: bool = False,
        device: str = "cpu",
    ):
        import torch
        from stable_baselines3 import PPO

        torch.set_num_threads(1)  # one process per core plays; no thread fights
        path = Path(path)
        if not path.is_file():
            raise UserError(
                f"PPO policy {path} does not exist; run the agent stage first or set "
                "collect.policy=random"
            )
        try:
            self.model = PPO.load(path, device=device)
        except Exception as e:  # a zip that is not a PPO save
            raise UserError(
                f"PPO policy {path} could not be loaded ({type(e).__name__}: {e}); "
                "point collect.policy_path at a stable-baselines3 PPO zip"
            ) from None
        self.k = upscale_factor(frame_shape)
        want = tuple(self.model.observation_space.shape)
        have = (frame_shape[0] * self.k, frame_shape[1] * self.k, 3)
        if want not in (have, (3, have[0], have[1])):
            raise UserError(
                f"PPO policy {path} was trained on frames {want}, but the game draws "
                f"{tuple(frame_shape)}; use the env settings it was trained with"
            )
        n = getattr(self.model.action_space, "n", None)
        if n != len(action_names):
            raise UserError(
                f"PPO policy {path} has {n} actions, but the game has {len(action_names)}; "
                "use the policy trained on this game"
            )
        self.deterministic = deterministic

    def reset(self, seed: int) -> None:
        import torch

        torch.manual_seed(seed)

    def act(self, frame) -> int:
        action, _ = self.model.predict(
            upscale(np.asarray(frame), self.k), deterministic=self.deterministic
        )
        return int(action)


def make_policy(
    kind: str,
    action_names,
    frame_shape,
    path: str | Path | None = None,
    deterministic: bool = False,
):
    if kind == "random":
        return RandomPolicy(len(action_names))
    if kind == "scripted":
        return ScriptedPolicy(action_names)
    if kind == "agent":
        return PPOPolicy(path, action_names, frame_shape, deterministic=deterministic)
    raise UserError(f"collect.policy {kind!r} is not one of agent, random, scripted")
