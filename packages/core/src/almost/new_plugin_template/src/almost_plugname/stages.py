"""A two-stage pipeline: `play` records episodes of the catch game, `score` reads them back.

Each stage is a function of the run's context (`almost.RunContext`): it writes into its own
folder (`ctx.stage_dir()`), reads an earlier stage's output (`ctx.find_stage_dir(...)`), logs
per-step history (`ctx.log_step`) and end-of-stage metrics (`ctx.log_metrics`, shown in the
summary table) and names the files a person would open (`ctx.add_artifact`). Files are written
atomically (`almost.io`), so a killed run never leaves half a file behind; a stage that was
interrupted is simply called again.
"""

import numpy as np

from almost.io import atomic_write_json, read_json


def _policy(env, rng: np.random.Generator, follow: float) -> int:
    """Step toward the ball's column with probability ``follow``, else a random action."""
    if rng.random() >= follow:
        return int(rng.integers(len(env.action_names)))
    gap = int(env.ball[1]) - env.paddle
    return 0 if gap == 0 else (1 if gap < 0 else 2)


def play(ctx) -> None:
    from .game import Catch

    cfg = ctx.config
    rng = np.random.default_rng(cfg.seed)
    env = Catch(size=cfg.play.size, max_steps=cfg.play.size * 4)
    episodes = []
    for i in range(cfg.play.episodes):
        env.reset(seed=cfg.seed + i)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(_policy(env, rng, cfg.play.follow))
            total += reward
            done = terminated or truncated
        episodes.append({"episode": i, "return": total})
        ctx.log_step(i, episode_return=total)
    out = ctx.stage_dir() / "episodes.json"
    atomic_write_json(out, episodes)
    ctx.add_artifact(out, "episodes")


def score(ctx) -> None:
    path = ctx.find_stage_dir("play") / "episodes.json"
    episodes = read_json(path, "episodes file", f"run `{ctx.command('play', force=True)}` to record it again",
                         expect=list)
    returns = [float(e["return"]) for e in episodes]
    ctx.log_metrics(mean_return=float(np.mean(returns)), episodes=len(returns))
