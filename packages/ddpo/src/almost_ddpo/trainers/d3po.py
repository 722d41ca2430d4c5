"""``trainer/ddpo-d3po``: D3PO — learn from the rated pairs directly, with no reward model.

Yang et al. 2023, "Using Human Feedback to Fine-tune Diffusion Models without Any Reward Model":
DPO applied to every denoising step. For a preferred image ``w`` and a rejected image ``l`` of
the same prompt, each DDIM step ``x_t → x_{t−1}`` of their trajectories is a decision whose
log-probability under the LoRA policy ``π_θ`` is compared with the frozen reference ``π_ref``
(the policy as the stage starts: the images' own sampler), and the loss is

    −log σ(β · [log r_θ(w) − log r_θ(l)]),   r_θ = clamp(π_θ / π_ref, 1 − clip, 1 + clip)

averaged over a ``timestep_fraction`` of the steps (as the authors' code does; the clamp is
their trust region). No reward is learnt or queried: the pairs come from the ratings store
(``reward_model.dataset``) — the page's pairwise votes (ties left out) and, with
``score_pairs``, every two differently scored images of one prompt.

The trajectories are not stored by ``generate``: each rated image is drawn again from its
sidecar record (prompt, seed) under the reference, which reproduces it when the sampler
settings (steps, guidance, η, negative prompt) and the LoRA it was made with are the policy's
own; other images are left out, and counted. The trajectories and reference log-probs are
saved once (``d3po_pairs.safetensors``) so a resumed run trains on the very same tensors.
Each epoch trains on ``samples_per_epoch // 2`` pairs drawn from ``policy.seed`` and the epoch,
``train_batch_size // 2`` pairs a batch, with ddpo's gradient accumulation, clipping,
checkpoints and history (loss, margin ``log r_θ(w) − log r_θ(l)`` and accuracy, the share of
pairs with a positive margin). The before/after figures use ``reward`` as a yardstick only.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from almost.errors import UserError
from almost.observe.console import console, progress
from almost.train.checkpoint import load_safetensors, save_safetensors

from ..datasets import sidecar
from ..ddim import ddim_step_with_logprob, guided_eps
from .base import PolicyRun


class D3poTrainer:
    """See the module. Options (``policy.trainer_options``): ``beta`` (the DPO temperature on the
    per-step log-ratios), ``clip`` (the ratio clamp), ``score_pairs`` (also learn from pairs of
    differently scored images of one prompt)."""

    def __init__(self, ctx, beta: float = 1.0, clip: float = 0.1, score_pairs: bool = True):
        if not beta > 0 or not 0 < clip < 1:
            raise UserError(f"policy.trainer_options: ddpo-d3po needs beta > 0 and 0 < clip < 1, "
                            f"not beta={beta!r}, clip={clip!r}")
        self.ctx, self.beta, self.clip, self.score_pairs = ctx, float(beta), float(clip), bool(score_pairs)
        self.output_dir: Path = ctx.stage_dir()

    def fit(self) -> dict:
        ctx, cfg = self.ctx, self.ctx.config.policy
        run = PolicyRun(ctx)
        before_images, before = run.evaluate("before")
        console.print(f"reward before D3PO ({ctx.config.reward}): {before.mean():.4f} ± {before.std():.4f}")
        data = self.trajectories(run)
        opt, ckpts = run.prepare(cfg.lr)
        state = ckpts.load()
        start, history = 0, []
        if state is not None:
            start, history = int(state["epoch"]), list(state["history"])
            console.print(f"resuming D3PO from epoch {start} ({ckpts.latest()})")

        def save(epoch):
            ckpts.save(epoch, {"epoch": epoch, "history": history})

        with progress() as bar:
            task = bar.add_task("D3PO epochs", total=cfg.epochs, completed=start, info="")
            for epoch in range(start, cfg.epochs):
                rec = self.epoch(run, opt, data, epoch)
                history.append(rec)
                ctx.log_step(epoch + 1, **{k: v for k, v in rec.items() if k != "epoch"})
                bar.update(task, advance=1, info=f"loss {rec['loss']:.4f} margin {rec['margin']:.2e} "
                                                 f"acc {rec['accuracy']:.2f}")
                run.end_epoch(epoch + 1, history, save)
        figures, extra = run.finish(before_images, before, what="D3PO")
        last = history[-1] if history else {}
        return {**figures, "pairs": len(data["win"]),
                **{f"last_epoch_{k}": last.get(k, float("nan")) for k in ("loss", "margin", "accuracy")}, **extra}

    # -- the pairs and their trajectories under the reference ------------------------------------
    def pairs(self, run: PolicyRun) -> tuple[list[tuple[str, str]], dict[str, dict]]:
        """``([(winner key, loser key)], key → sidecar)`` of the reproducible rated pairs."""
        ctx = self.ctx
        name = ctx.config.reward_model.dataset
        ds = ctx.registry.build(name if "/" in name else f"dataset/{name}", {}, "dataset", run_dir=ctx.run_dir)
        found = [(a, b) if p > 0.5 else (b, a) for a, b, p in ds.votes if p != 0.5]
        meta = {k: {**sidecar(f), "file": f} for k, f in ds.files.items()}
        if self.score_pairs:
            found += score_pairs(ds.scores, meta)
        ok = {k for k, m in meta.items() if reproducible(m, run, reference_lora_sha(ctx))}
        kept = [(w, lo) for w, lo in dict.fromkeys(found) if w in ok and lo in ok
                and meta[w].get("prompt") == meta[lo].get("prompt")]
        if len(kept) < len(found):
            console.print(f"[yellow]D3PO: {len(found) - len(kept)} of {len(found)} rated pairs left out (images made "
                          "with other sampler settings or another LoRA, or of two prompts: their trajectories "
                          "cannot be drawn again)[/]", soft_wrap=True)
        if not kept:
            raise UserError(f"no usable preference pairs in {ds.root} for ddpo-d3po ({len(found)} rated pairs); "
                            "vote on pairs on the scoring page, or score images of one prompt differently")
        return kept, meta

    def trajectories(self, run: PolicyRun) -> dict:
        """Winner/loser trajectories, reference log-probs and prompt embeddings (saved once)."""
        f = run.out / "d3po_pairs.safetensors"
        if f.is_file():
            return load_safetensors(f)
        kept, meta = self.pairs(run)
        keys = sorted({k for pair in kept for k in pair})
        run.unet.eval()
        traj, logp, cond = [], [], []
        step = run.cfg.sample_batch_size
        for k in range(0, len(keys), step):
            chunk = keys[k:k + step]
            _, t, lp, ts, c = run.sample([meta[x]["prompt"] for x in chunk], [meta[x]["seed"] for x in chunk])
            traj.append(t.float().cpu())
            logp.append(lp.float().cpu())
            cond.append(c.float().cpu())
        at = {x: i for i, x in enumerate(keys)}
        data = {"traj": torch.cat(traj), "ref_logp": torch.cat(logp), "cond": torch.cat(cond),
                "timesteps": ts.cpu(), "win": torch.tensor([at[w] for w, _ in kept]),
                "lose": torch.tensor([at[lo] for _, lo in kept])}
        console.print(f"D3PO: {len(kept)} preference pairs over {len(keys)} images")
        save_safetensors(data, f)
        return data

    # -- one epoch --------------------------------------------------------------------------------
    def epoch(self, run: PolicyRun, opt, data, epoch: int) -> dict:
        cfg = run.cfg
        rng = np.random.default_rng([cfg.seed, epoch, run.acc.process_index])
        t0 = time.perf_counter()
        n_pairs = len(data["win"])
        chosen = torch.from_numpy(rng.permutation(n_pairs)[:max(1, cfg.samples_per_epoch // 2)])
        step_perm = torch.stack([torch.from_numpy(rng.permutation(run.n_steps)) for _ in range(len(chosen))])
        per_batch = max(1, cfg.train_batch_size // 2)
        starts = list(range(0, len(chosen), per_batch))
        stats = {"loss": [], "margin": [], "accuracy": [], "clipfrac": []}
        run.unet.train()
        for bi, k in enumerate(starts):
            group = cfg.gradient_accumulation_steps
            first = bi - bi % group
            in_group = min(group, len(starts) - first)
            rows = slice(k, k + per_batch)
            self.train_batch(run, data, chosen[rows], step_perm[rows], in_group, stats)
            if bi + 1 == first + in_group:
                run.optimizer_step(opt)
        self.ctx.check_finite(float(np.mean(stats["loss"])), what=f"the loss of epoch {epoch + 1}")
        return {"epoch": epoch + 1, **{k: float(np.mean(v)) for k, v in stats.items()},
                "pairs": len(chosen), "train_s": time.perf_counter() - t0}

    def train_batch(self, run: PolicyRun, data, pairs, steps, in_group: int, stats: dict) -> None:
        """Accumulate the D3PO gradients of a batch of pairs over its trained timesteps."""
        n_train_steps = max(1, int(run.n_steps * run.cfg.timestep_fraction))
        rows = torch.cat([data["win"][pairs], data["lose"][pairs]])  # winners, then losers
        emb = torch.cat([run.uncond1.expand(len(rows), -1, -1), data["cond"][rows].to(run.uncond1)])
        lo, hi = np.log(1 - self.clip), np.log(1 + self.clip)
        for j in range(n_train_steps):
            sj = torch.cat([steps[:, j], steps[:, j]])
            logp = step_logprob(run, data, rows, sj, emb)
            log_ratio = (logp - data["ref_logp"][rows, sj].to(logp.device)).clamp(lo, hi)
            w, lose = log_ratio.chunk(2)
            margin = w - lose
            loss = -torch.nn.functional.logsigmoid(self.beta * margin).mean()
            run.acc.backward(loss / (n_train_steps * in_group))
            with torch.no_grad():
                stats["loss"].append(loss.item())
                stats["margin"].append(margin.mean().item())
                stats["accuracy"].append((margin > 0).float().mean().item())
                stats["clipfrac"].append(((log_ratio <= lo) | (log_ratio >= hi)).float().mean().item())


def step_logprob(run: PolicyRun, data, rows, sj, emb) -> torch.Tensor:
    """log π_θ(x_{t−1} | x_t) of the stored step ``sj[i]`` of trajectory ``rows[i]``."""
    x_t = data["traj"][rows, sj].to(run.device)
    x_prev = data["traj"][rows, sj + 1].to(run.device)
    t = data["timesteps"][sj]
    with run.acc.autocast():
        eps = guided_eps(run.unet, x_t, t.to(run.device), emb, run.guidance)
    _, logp = ddim_step_with_logprob(run.pipe.scheduler, eps, t, x_t, run.cfg.eta, prev_sample=x_prev)
    return logp


def score_pairs(scores: dict[str, int], meta: dict[str, dict]) -> list[tuple[str, str]]:
    """Every two differently scored images of one prompt, as ``(higher, lower)``."""
    by_prompt: dict[str, list[str]] = {}
    for k in sorted(scores):
        if k in meta:
            by_prompt.setdefault(meta[k].get("prompt", ""), []).append(k)
    out = []
    for keys in by_prompt.values():
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if scores[a] != scores[b]:
                    out.append((a, b) if scores[a] > scores[b] else (b, a))
    return out


def reference_lora_sha(ctx) -> str | None:
    """sha256 of the LoRA the policy starts from (the reference), as the sidecars record it."""
    from ..stages.generate import previous_lora

    prev = previous_lora(ctx)
    return hashlib.sha256((prev / "adapter_model.safetensors").read_bytes()).hexdigest() if prev else None


def reproducible(meta: dict, run: PolicyRun, lora_sha: str | None) -> bool:
    """Whether drawing the image again under the reference gives its own trajectory."""
    gen = run.ctx.config.generate
    return (isinstance(meta.get("seed"), int) and isinstance(meta.get("prompt"), str)
            and meta.get("steps") == run.n_steps and meta.get("guidance") == run.guidance
            and meta.get("eta") == run.cfg.eta and meta.get("negative_prompt", "") == gen.negative_prompt
            and meta.get("lora_sha256") == lora_sha)


@torch.no_grad()
def pair_margins(run: PolicyRun, data) -> torch.Tensor:
    """Per pair, the mean over its steps of ``log π_θ/π_ref(w) − log π_θ/π_ref(l)`` (unclamped):
    positive where the policy has moved toward the preferred image's trajectory."""
    run.unet.eval()
    rows = torch.cat([data["win"], data["lose"]])
    emb = torch.cat([run.uncond1.expand(len(rows), -1, -1), data["cond"][rows].to(run.uncond1)])
    out = []
    for j in range(run.n_steps):
        sj = torch.full((len(rows),), j, dtype=torch.long)
        log_ratio = step_logprob(run, data, rows, sj, emb).cpu() - data["ref_logp"][rows, sj]
        w, lose = log_ratio.chunk(2)
        out.append(w - lose)
    return torch.stack(out, 1).mean(1)
