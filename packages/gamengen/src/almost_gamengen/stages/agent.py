"""Stage ``agent``: train a PPO agent on parallel games while recording every episode.

As in GameNGen, the data for the world model is the agent's own play during training:
``agent.num_envs`` games run in a stable-baselines3 ``SubprocVecEnv``; each game process
is wrapped (innermost first) by

1. :class:`~almost_gamengen.data.recorder.EpisodeRecorder` — writes each finished episode as a
   shard of ``<run>/agent/episodes/`` (episode ids ``start + i, start + i + n, ...`` for game
   ``i`` of ``n``, so processes never clash);
2. :class:`~almost_gamengen.data.shaping.ShapedReward` — GameNGen's reward shaping where the game
   reports game variables, the game's own reward elsewhere (``agent.shaping``);
3. :class:`~almost_gamengen.data.policies.PolicyFrames` — upscales frames below the CNN's
   36-pixel minimum (policy input only);
4. SB3's ``Monitor`` — episode returns for the logs (in the game's units);
5. :class:`~almost_gamengen.data.shaping.ScaledReward` — the reward PPO learns from, times
   ``agent.reward_scale``: unscaled ``basic`` returns (hundreds) made the value loss swamp the
   shared CNN's gradient and the policy collapsed to one action (benchmarks/README.md).
   ``agent.normalize_reward`` adds SB3's ``VecNormalize`` over the games (rewards divided by a
   running deviation of the return, any game's scale; its statistics are saved beside each
   checkpoint as ``.pkl`` and resume with it).

With ``agent.record_frames`` a game records only its first episodes, up to its share of
that many frames (:class:`RecordFirst`), so the world model's data does not grow with the
agent's training.

The policy is ``CnnPolicy`` (NatureCNN). It is checkpointed every ``agent.checkpoint_every``
steps to ``<run>/agent/checkpoints/ppo-<steps>.zip`` (atomic, never deleted); an
interrupted run resumes from the latest checkpoint and keeps the episodes already written.
The final policy is ``<run>/agent/policy.zip``, which ``collect`` plays by default.

Run: ``uv run almost run --plugin gamengen agent``.
"""

from __future__ import annotations

import functools
import itertools
import re
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback  # stage modules load only when run
from stable_baselines3.common.vec_env import VecNormalize

from almost.errors import UserError
from almost.io import atomic_path
from almost.observe.console import console, progress

from ..data.episodes import rebuild_manifest
from ..data.make_env import EnvSpec, describe, env_spec


def run(ctx) -> None:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    cfg, acfg = ctx.config, ctx.config.agent
    if acfg.num_envs < 1 or acfg.total_steps < 1 or acfg.n_steps < 2:
        raise UserError(
            "agent.num_envs and agent.total_steps must be at least 1, agent.n_steps at least 2"
        )
    if acfg.n_steps * acfg.num_envs < acfg.batch_size:
        raise UserError(
            f"agent.batch_size {acfg.batch_size} is larger than a rollout "
            f"(n_steps × num_envs = {acfg.n_steps * acfg.num_envs}); lower it"
        )
    spec = env_spec(ctx.registry, cfg.env)
    out = ctx.stage_dir()
    root, ckpt_dir = out / "episodes", out / "checkpoints"
    ckpt_dir.mkdir(exist_ok=True)

    # game facts, from one local copy (also fails early with a clear message)
    probe = spec.make()
    try:
        facts = describe(probe)
    finally:
        probe.close()

    # episode ids continue after those already recorded (a resumed run)
    start, recorded = 0, 0
    if acfg.record:
        manifest = rebuild_manifest(root) if root.exists() else {"shards": [], "frames": 0}
        start = 1 + max((int(e) for s in manifest["shards"] for e in s["episodes"]), default=-1)
        recorded = int(manifest.get("frames", 0))
    # agent.record_frames: each game's share of what is left to record (0: every episode)
    budget = -(-max(0, acfg.record_frames - recorded) // acfg.num_envs) if acfg.record_frames else 0
    record_root = str(root) if acfg.record and (budget > 0 or not acfg.record_frames) else None
    fns = [
        functools.partial(
            make_agent_env,
            spec,
            i,
            acfg.num_envs,
            start,
            record_root,
            acfg.shaping,
            acfg.shaping_scale,
            cfg.seed,
            acfg.reward_scale,
            budget,
        )
        for i in range(acfg.num_envs)
    ]
    vec = (
        SubprocVecEnv(fns, start_method=acfg.start_method)
        if acfg.num_envs > 1
        else DummyVecEnv(fns)
    )
    t0 = time.perf_counter()
    try:
        latest = latest_checkpoint(ckpt_dir)
        if acfg.normalize_reward:  # the running return statistics resume with the policy
            stats = latest.with_suffix(".pkl") if latest is not None else None
            if stats is not None and stats.is_file():
                vec = VecNormalize.load(str(stats), vec)
                console.print(f"agent: reward statistics from {stats.name}")
            else:
                vec = VecNormalize(vec, norm_obs=False, norm_reward=True, gamma=acfg.gamma)
        if latest is not None:
            model = PPO.load(latest, env=vec, device=acfg.device)
            console.print(f"agent: resuming from {latest.name} ({model.num_timesteps} steps done)")
        else:
            torch.manual_seed(cfg.seed)
            model = PPO(
                "CnnPolicy",
                vec,
                n_steps=acfg.n_steps,
                batch_size=acfg.batch_size,
                n_epochs=acfg.n_epochs,
                learning_rate=acfg.learning_rate,
                gamma=acfg.gamma,
                ent_coef=acfg.ent_coef,
                seed=cfg.seed,
                device=acfg.device,
                verbose=0,
            )
        # SB3 would otherwise make an empty log folder in /tmp on every learn(): our own logger
        # (no outputs) keeps its values in memory, where the progress callback reads them
        model.set_logger(Logger(folder=None, output_formats=[]))
        done_before = model.num_timesteps
        remaining = acfg.total_steps - done_before
        if remaining > 0:
            with progress() as bar:
                task = bar.add_task(
                    "PPO steps", total=acfg.total_steps, completed=done_before, info=""
                )
                callback = _Progress(bar, task, ckpt_dir, acfg.checkpoint_every, log_step=ctx.log_step)
                model.learn(remaining, callback=callback, reset_num_timesteps=False)
        save_policy(model, ckpt_dir / f"ppo-{model.num_timesteps:09d}.zip")
        save_policy(model, out / "policy.zip")
        shaped = [ep["r"] for ep in model.ep_info_buffer or []]
    finally:
        vec.close()
    seconds = time.perf_counter() - t0
    scores = evaluate_against_random(spec, out / "policy.zip", facts, cfg.seed, acfg.eval_episodes)

    metrics = {
        "steps": model.num_timesteps,
        "steps_per_s": (model.num_timesteps - done_before) / seconds if seconds else 0.0,
        "mean_shaped_return": float(np.mean(shaped)) if shaped else 0.0,
    }
    if acfg.record:
        extra = {
            "env": spec.key,
            "env_options": spec.kwargs,
            "policy": "ppo-training",
            "pad_to": [cfg.env.pad_height, cfg.env.pad_width],
            "seed": cfg.seed,
        }
        manifest = rebuild_manifest(root, extra=extra)
        returns = [r for s in manifest["shards"] for r in s["returns"]]
        metrics.update(
            episodes=manifest["episodes"],
            frames=manifest["frames"],
            mean_game_return=float(np.mean(returns)) if returns else 0.0,
        )
        ctx.add_artifact(root, "episodes")
    ctx.add_artifact(out / "policy.zip", "policy")
    console.print(f"agent: {facts['frame_shape']} frames, {len(facts['action_names'])} actions")
    metrics.update(scores)
    if scores:
        console.print(
            f"agent: game return {scores['return_mean']:.1f} ± {scores['return_std']:.1f} vs random "
            f"{scores['return_random']:.1f} ± {scores['return_random_std']:.1f} on the same "
            f"{acfg.eval_episodes} held-out seeds ({scores['return_gain_sigma']:+.1f} σ); "
            f"argmax actions {scores['return_argmax']:.1f}"
        )
    ctx.log_metrics(**metrics)


def evaluate_against_random(spec: EnvSpec, policy_path: Path, facts: dict, seed: int,
                            episodes: int) -> dict[str, float]:
    """The policy's game return (sampled actions, as ``collect`` plays; unshaped, unscaled) next
    to a uniform random policy's, on the same ``episodes`` evaluation seeds (their own stream:
    never a training or collect seed). ``return_gain_sigma`` is the difference in units of its
    standard error. ``return_argmax`` is the policy's return taking its most likely action."""
    from ..data.policies import make_policy
    from ..data.seeds import game_seed

    if episodes < 1:
        return {}
    env = spec.make()
    try:
        out = {}
        plays = (("", "agent", False), ("_random", "random", False), ("_argmax", "agent", True))
        for name, kind, argmax in plays:
            policy = make_policy(kind, facts["action_names"], facts["frame_shape"], policy_path,
                                 deterministic=argmax)
            returns = []
            for k in range(episodes):
                s = game_seed(seed, "eval", k)
                policy.reset(s)
                frame, _ = env.reset(seed=s)
                total, done = 0.0, False
                while not done:
                    frame, r, term, trunc, _ = env.step(policy.act(frame))
                    total += float(r)
                    done = term or trunc
                returns.append(total)
            out[f"return{name or '_mean'}"] = float(np.mean(returns))
            out[f"return{name}_std"] = float(np.std(returns))
        se = np.sqrt((out["return_std"] ** 2 + out["return_random_std"] ** 2) / episodes)
        out["return_gain_sigma"] = float((out["return_mean"] - out["return_random"]) / max(se, 1e-9))
        out["eval_episodes"] = float(episodes)
        return out
    finally:
        env.close()


def make_agent_env(
    spec: EnvSpec,
    index: int,
    n: int,
    start: int,
    root: str | None,
    shaping: bool,
    shaping_scale: float,
    seed: int = 0,
    reward_scale: float = 1.0,
    record_frames: int = 0,
):
    """One game for the vector env (runs in its own process): seeds → record → shape → policy
    frames. Every episode of game ``index`` is reset with its own seed from the ``agent`` stream
    (:mod:`almost_gamengen.data.seeds`), so no training episode shares a seed with ``collect``'s.
    ``record_frames`` > 0: this game records its first episodes, up to about that many frames
    (finishing the episode under way), and then plays on unrecorded."""
    from stable_baselines3.common.monitor import Monitor

    from ..data.policies import PolicyFrames, upscale_factor
    from ..data.recorder import EpisodeRecorder
    from ..data.shaping import ScaledReward, ShapedReward

    env = AgentSeeds(spec.make(), seed, index)
    if root is not None:
        env = EpisodeRecorder(
            env, root, prefix=f"agent-e{index:02d}", ids=itertools.count(start + index, n)
        )
        if record_frames > 0:
            env = RecordFirst(env, record_frames)
    if shaping:
        env = ShapedReward(env, scale=shaping_scale)
    if upscale_factor(env.observation_space.shape) > 1:
        env = PolicyFrames(env)
    env = Monitor(env)
    return ScaledReward(env, reward_scale) if reward_scale != 1.0 else env


class AgentSeeds(gym.Wrapper):
    """Reset ``k`` of game ``index`` uses ``game_seed(seed, "agent", index·10⁶ + k)``."""

    def __init__(self, env, seed: int, index: int):
        super().__init__(env)
        self.run_seed, self.index, self.k = int(seed), int(index), 0
        self.action_names, self.noop_action = env.action_names, env.noop_action

    def reset(self, *, seed=None, options=None):
        from ..data.seeds import game_seed

        s = game_seed(self.run_seed, "agent", self.index * 1_000_000 + self.k)
        self.k += 1
        return self.env.reset(seed=s, options=options)


class RecordFirst(gym.Wrapper):
    """Play through ``recorder`` until it has written ``frames`` frames, then (from the next
    reset on) past it, on the bare game: an episode is never cut, so every one kept is whole."""

    def __init__(self, recorder, frames: int):
        super().__init__(recorder)
        self.frames, self.active = int(frames), recorder
        self.action_names, self.noop_action = recorder.action_names, recorder.noop_action

    def reset(self, **kwargs):
        if self.active is self.env and self.env.frames_written >= self.frames:
            self.active = self.env.env  # the game the recorder wraps
        return self.active.reset(**kwargs)

    def step(self, action):
        return self.active.step(action)


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    found = [
        (int(m.group(1)), p)
        for p in ckpt_dir.glob("ppo-*.zip")
        if (m := re.fullmatch(r"ppo-(\d+)\.zip", p.name))
    ]
    return max(found)[1] if found else None


def save_policy(model, path: Path) -> None:
    """``model.save`` through a temp file and a rename (a crash leaves no half zip); with
    ``agent.normalize_reward`` the reward statistics first, beside it (``.pkl``)."""
    env = model.get_vec_normalize_env()  # under SB3's image transpose wrapper
    if env is not None:
        with atomic_path(path.with_suffix(".pkl"), suffix=".pkl") as tmp:
            env.save(str(tmp))
    with atomic_path(path, suffix=".zip") as tmp:
        model.save(tmp)


class _Progress(BaseCallback):
    """Rich progress plus a checkpoint every ``every`` steps."""

    def __init__(self, bar, task, ckpt_dir: Path, every: int, log_step=None):
        super().__init__()
        self.bar, self.task, self.ckpt_dir, self.every = bar, task, ckpt_dir, max(1, every)
        self.log_step = log_step
        self._next = None

    def _on_step(self) -> bool:
        n = self.num_timesteps
        if self._next is None:
            self._next = (n // self.every + 1) * self.every
        if n >= self._next:
            save_policy(self.model, self.ckpt_dir / f"ppo-{n:09d}.zip")
            self._next = (n // self.every + 1) * self.every
        buf = self.model.ep_info_buffer
        info = f"return {np.mean([e['r'] for e in buf]):.2f}" if buf else ""
        self.bar.update(self.task, completed=n, info=info)
        return True

    def _on_rollout_end(self) -> None:
        """Once per PPO rollout: the step history (the last update's losses, recent episodes)."""
        if self.log_step is None:
            return
        buf = self.model.ep_info_buffer
        values = {k.split("/", 1)[1]: v for k, v in self.model.logger.name_to_value.items() if k.startswith("train/")}
        if buf:
            values.update(episode_return=float(np.mean([e["r"] for e in buf])),
                          episode_length=float(np.mean([e["l"] for e in buf])))
        if values:
            self.log_step(self.num_timesteps, **values)
