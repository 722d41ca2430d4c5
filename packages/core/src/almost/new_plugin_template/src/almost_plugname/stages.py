"""A two-stage pipeline: `play` records episodes of the catch game, `score` reads them back.

`play` draws its episodes from the sampler the config names (`play.sampler`, a registered
`sampler/...` component: this package's `plugname-follow` by default), the way the built-in
pipelines build their samplers and trainers, so another plugin can swap it in.

Each stage is a function of the run's context (`almost.RunContext`): it writes into its own
folder (`ctx.stage_dir()`), reads an earlier stage's output (`ctx.find_stage_dir(...)`), logs
per-step history (`ctx.log_step`) and end-of-stage metrics (`ctx.log_metrics`, shown in the
summary table) and names the files a person would open (`ctx.add_artifact`). Files are written
atomically (`almost.io`), so a killed run never leaves half a file behind; a stage that was
interrupted is simply called again.
"""

import numpy as np

from almost.io import atomic_write_json, read_json


class FollowPolicy:
    """``sampler/plugname-follow``: plays one episode of the catch game per condition (a game
    seed) and returns its total reward. It steps toward the ball with probability ``follow``,
    else moves at random; the randomness comes from ``generator`` (a ``torch.Generator``), so
    the same seed gives the same episodes (the Sampler protocol; ``almost.testing.check_sampler``)."""

    def __init__(self, follow: float = 0.8, size: int = 8):
        self.follow, self.size = follow, size

    def example_conditions(self) -> list:
        return [0, 1, 2]

    def sample(self, conditions, *, generator=None) -> list:
        import torch

        from .game import Catch

        seed = int(torch.randint(2**31 - 1, (1,), generator=generator)) if generator is not None else 0
        rng = np.random.default_rng(seed)
        env = Catch(size=self.size, max_steps=self.size * 4)
        returns = []
        for game_seed in conditions:
            env.reset(seed=int(game_seed))
            total, done = 0.0, False
            while not done:
                _, reward, terminated, truncated, _ = env.step(self._action(env, rng))
                total += reward
                done = terminated or truncated
            returns.append(total)
        return returns

    def _action(self, env, rng: np.random.Generator) -> int:
        if rng.random() >= self.follow:
            return int(rng.integers(len(env.action_names)))
        gap = int(env.ball[1]) - env.paddle
        return 0 if gap == 0 else (1 if gap < 0 else 2)


def play(ctx) -> None:
    import torch

    cfg = ctx.config
    # the sampler named in the config, built through the registry: another plugin's works too
    policy = ctx.component(f"sampler/{cfg.play.sampler}", follow=cfg.play.follow, size=cfg.play.size)
    seeds = [cfg.seed + i for i in range(cfg.play.episodes)]
    returns = policy.sample(seeds, generator=torch.Generator().manual_seed(cfg.seed))
    episodes = []
    for i, total in enumerate(returns):
        episodes.append({"episode": i, "return": float(total)})
        ctx.log_step(i, episode_return=float(total))
    out = ctx.stage_dir() / "episodes.json"
    atomic_write_json(out, episodes)
    ctx.add_artifact(out, "episodes")


def score(ctx) -> None:
    path = ctx.find_stage_dir("play") / "episodes.json"
    episodes = read_json(path, "episodes file", f"run `{ctx.command('play', force=True)}` to record it again",
                         expect=list)
    returns = [float(e["return"]) for e in episodes]
    ctx.log_metrics(mean_return=float(np.mean(returns)), episodes=len(returns))
