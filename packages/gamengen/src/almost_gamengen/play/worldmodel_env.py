"""``env/worldmodel``: a trained world model as a gymnasium game.

``reset()`` seeds the context with real recorded latents (a random window of a held-out
episode, or of any episode), ``step(action)`` generates the next frame with DDIM and shifts
it into the context. The action space is the one the model learned (the game's), so a person
(``almost gamengen play``) or an SB3 agent can play it like the real game::

    env = registry.create("env/worldmodel", run_dir="runs/gamengen/tiny")
    frame, _ = env.reset(seed=0)
    frame, reward, terminated, truncated, info = env.step(env.action_names.index("TURN_LEFT"))

The model has no reward head: ``reward`` is 0 and ``terminated`` is False; an episode is
truncated after ``max_steps``. ``set_options(steps=, noise_level=)`` changes the number of
DDIM steps and the context-noise level between frames (the play page's sliders).
It opens the run with :func:`almost.open_run` and reads ``<run>/train/model``,
``<run>/encode/latents`` and, when present, the fine-tuned decoder ``<run>/decoder/vae``; it
samples through the run's own sampler (``rollout.sampler``, built by
:func:`~almost_gamengen.model.sampling.make_sampler`; ``play`` gives it the run's own
:class:`~almost_gamengen.model.sampling.SampleSettings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from almost.errors import UserError

from ..model.sampling import SampleSettings, make_sampler


class WorldModelEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, run_dir: str | Path, steps: int = 4, noise_level: float = 0.0,
                 guidance_scale: float = 1.0, max_steps: int = 1000, episodes: str = "heldout",
                 device: str = "cpu", action_guidance: float = 1.0, sample: SampleSettings | None = None) -> None:
        """``steps``, ``noise_level``, ``guidance_scale`` and ``action_guidance`` are the
        sampler's settings (``[env.options]``); ``sample`` (:class:`SampleSettings`, e.g. the
        run's own, :meth:`SampleSettings.of`) replaces all four."""
        import torch

        from almost import open_run
        from almost.plugins import get_app

        if not (Path(run_dir) / "train" / "model" / "world_model.json").is_file():  # the fix a user needs first
            raise UserError(f"{run_dir} has no trained world model (train/model); run "
                            f"`almost run --plugin gamengen --out {run_dir}` first")
        run = open_run(run_dir, "gamengen")
        self.device = torch.device(device)
        self._load(run)
        self.action_names = list(self.store.action_names)
        self.noop_action = int(self.store.noop_action)
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        self.observation_space = gym.spaces.Box(0, 255, (*self.codec.crop, 3), np.uint8)
        self.context = self.model.context
        self.max_steps = int(max_steps)
        sample = sample or SampleSettings(int(steps), float(noise_level), float(guidance_scale), float(action_guidance))
        self.sampler = make_sampler(get_app().registry, run.config.rollout.sampler, self.model,
                                    self.scheduler_config, sample)  # the run's own (rollout.sampler)
        self.set_options(steps=sample.steps, noise_level=sample.context_noise)  # checked against the model
        self.model.check_action_guidance(sample.action_guidance)
        self._pool = self._seed_pool(run, episodes)
        self._rng = np.random.default_rng(0)
        self._gen = torch.Generator(device=self.device).manual_seed(0)
        self._t = 0

    def _load(self, run) -> None:
        """The run's trained model and scheduler, its latent store and its VAE (the fine-tuned
        decoder when the decoder stage kept one)."""
        from almost.io import read_json

        from ..model.latents import LatentStore
        from ..model.vae import FrameCodec, load_vae
        from ..model.world_model import WorldModel

        model_dir = run.stage_dir("train") / "model"
        self.model = WorldModel.load(model_dir).to(self.device).eval()
        self.scheduler_config = read_json(model_dir / "scheduler" / "scheduler_config.json", "scheduler config")
        self.store = LatentStore(run.stage_dir("encode") / "latents")
        vae_dir = run.find("decoder/vae/config.json")
        vae_dir = vae_dir.parent if vae_dir else self.store.root / self.store.index["vae"]
        self.codec = FrameCodec.for_store(load_vae(vae_dir).to(self.device).eval(), self.store)

    def _seed_pool(self, run, episodes: str) -> list[int]:
        """Store positions of the episodes to seed from: the held-out ones (any if none)."""
        from almost.io import read_json

        pos_of = {e["id"]: i for i, e in enumerate(self.store.episodes)}
        pool = list(range(len(self.store)))
        split_file = run.find("train/split.json")
        if episodes == "heldout" and split_file is not None:
            held = [pos_of[i] for i in read_json(split_file, "episode split").get("heldout", []) if i in pos_of]
            pool = held or pool
        pool = [p for p in pool if self.store.episodes[p]["length"] >= 2]
        if not pool:
            raise UserError(f"{run.path}/encode/latents has no episode of 2 frames or more to seed the world model")
        return pool

    @property
    def guidance_scale(self) -> float:
        return self.sampler.settings.guidance_scale

    @property
    def action_guidance(self) -> float:
        return self.sampler.settings.action_guidance

    # -- options ------------------------------------------------------------------------
    def get_options(self) -> dict[str, Any]:
        s = self.sampler.settings
        return {"steps": s.steps, "noise_level": s.context_noise}

    def set_options(self, steps: int | None = None, noise_level: float | None = None) -> None:
        if steps is not None:
            steps = int(steps)
            if not 1 <= steps <= 1000:
                raise ValueError("steps must be between 1 and 1000")
            self.sampler = self.sampler.with_settings(steps=steps)
        if noise_level is not None:
            noise_level = float(noise_level)
            if not 0.0 <= noise_level <= float(self.model.noise_max):
                raise ValueError(f"noise_level must be between 0 and {self.model.noise_max}")
            self.sampler = self.sampler.with_settings(context_noise=noise_level)

    @property
    def scheduler(self):
        """The sampler's diffusers scheduler."""
        return self.sampler.scheduler

    # -- gymnasium ----------------------------------------------------------------------
    def _frame(self, z) -> np.ndarray:
        from ..model.vae import to_uint8_hwc

        return to_uint8_hwc(self.codec.decode(z[None]))[0]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        import torch

        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._gen = torch.Generator(device=self.device).manual_seed(seed)
        pos = int(self._pool[self._rng.integers(len(self._pool))])
        length = int(self.store.episodes[pos]["length"])
        c = self.context
        t0 = int(self._rng.integers(1, length)) if length > 1 else 1  # seed frames [lo, t0)
        lo = max(0, t0 - c)
        n = t0 - lo
        dev = self.device  # the context lives where the model does: no copies per frame
        self.ctx = torch.zeros(c, *self.store.latent_shape, device=dev)
        self.mask = torch.zeros(c, device=dev)
        self.acts = torch.full((c,), self.noop_action, dtype=torch.long, device=dev)
        self.ctx[c - n:] = torch.from_numpy(np.array(self.store.latents(pos, lo, t0), np.float32)).to(dev)
        self.mask[c - n:] = 1
        # acts[i] is the action after context frame i; the last one is the player's next action
        self.acts[c - n:] = torch.from_numpy(np.array(self.store.actions(pos, lo, t0), np.int64)).to(dev)
        self._t = 0
        return self._frame(self.ctx[-1]), {"episode": self.store.episodes[pos]["id"], "start": t0}

    def step(self, action):
        import torch

        if not self.action_space.contains(int(action)):
            raise ValueError(f"action {action!r} is not one of 0..{self.action_space.n - 1}")
        self.acts[-1] = int(action)
        dev = self.device
        z = self.sampler.next_latent(self.ctx[None], self.acts[None], self.mask[None],
                                     self._gen)[0].to(self.ctx.dtype)
        self.ctx = torch.cat([self.ctx[1:], z[None]])
        self.mask = torch.cat([self.mask[1:], torch.ones(1, device=dev)])
        self.acts = torch.cat([self.acts[1:], torch.tensor([self.noop_action], device=dev)])
        self._t += 1
        return self._frame(z), 0.0, False, self._t >= self.max_steps, {}

    def render(self):
        return self._frame(self.ctx[-1])

    def close(self) -> None:
        pass
