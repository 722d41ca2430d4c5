"""``trainer/plugname-reinforce``: learn to catch the ball with REINFORCE.

The policy is a 3 × 3 table of logits: which way the ball is (left, above, right of the paddle)
→ the probabilities of NOOP, LEFT, RIGHT. Each update plays ``episodes_per_update`` games with
actions drawn from the policy and moves the logits along ``(return − mean return) · ∇ log π``.

It follows the Trainer contract of ``almost.protocols``: built from the registry with the stage's
``ctx``, it saves a checkpoint (the logits and the update reached, atomically) every
``save_every`` updates into ``ctx.stage_dir()``, so a killed run resumes where it stopped and
gives the same result; each update's mean return goes to ``ctx.log_step``; ``fit()`` returns the
learned policy's mean return on fixed evaluation games, and a second ``fit()`` trains no further.
"""

from pathlib import Path

import numpy as np

from almost.io import atomic_write_json, read_json


def _side(env) -> int:
    gap = int(env.ball[1]) - env.paddle
    return 1 if gap == 0 else (0 if gap < 0 else 2)


class ReinforceTrainer:
    def __init__(self, ctx, updates: int = 40, episodes_per_update: int = 4, lr: float = 0.5,
                 save_every: int = 10):
        self.ctx, self.updates, self.episodes, self.lr = ctx, updates, episodes_per_update, lr
        self.save_every = save_every
        self.output_dir: Path = ctx.stage_dir()
        self.size = ctx.config.play.size

    def _episode(self, logits: np.ndarray, seed: int, rng: np.random.Generator | None):
        """One game: its return and, when sampling (``rng``), the (side, action) pairs taken."""
        from .game import Catch

        env = Catch(size=self.size, max_steps=self.size * 4)
        env.reset(seed=seed)
        total, done, taken = 0.0, False, []
        while not done:
            side = _side(env)
            p = np.exp(logits[side] - logits[side].max())
            p /= p.sum()
            action = int(rng.choice(3, p=p)) if rng is not None else int(p.argmax())
            taken.append((side, action, p))
            _, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        return total, taken

    def _update(self, logits: np.ndarray, step: int) -> float:
        rng = np.random.default_rng([self.ctx.config.seed, step])  # per update: resume is exact
        games = [self._episode(logits, 1000 * step + i, rng) for i in range(self.episodes)]
        baseline = np.mean([g[0] for g in games])
        grad = np.zeros_like(logits)
        for total, taken in games:
            for side, action, p in taken:
                grad[side] += (total - baseline) * (np.eye(3)[action] - p)
        logits += self.lr * grad / self.episodes
        return float(baseline)

    def fit(self) -> dict:
        ckpt = self.output_dir / "policy.json"
        state = read_json(ckpt, "policy checkpoint", "delete it to train again") if ckpt.is_file() else None
        logits = np.array(state["logits"]) if state else np.zeros((3, 3))
        for step in range(state["update"] if state else 0, self.updates):
            self.ctx.log_step(step + 1, mean_return=self._update(logits, step))
            if (step + 1) % self.save_every == 0 or step + 1 == self.updates:
                atomic_write_json(ckpt, {"update": step + 1, "logits": logits.tolist()})
        returns = [self._episode(logits, 10**6 + i, None)[0] for i in range(8)]  # greedy, games never trained on
        return {"learned_return": float(np.mean(returns)), "updates": float(self.updates)}


def learn(ctx) -> None:
    """Stage ``learn``: fit the trainer the config names (``learn.trainer``)."""
    trainer = ctx.component(f"trainer/{ctx.config.learn.trainer}", ctx=ctx, updates=ctx.config.learn.updates)
    ctx.log_metrics(**trainer.fit())
