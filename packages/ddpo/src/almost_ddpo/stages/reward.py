"""Stage ``reward``: train the latent CNN reward model on every label the run has.

Labels come from the run's ratings store (``<run>/ratings.jsonl``, every round and every
import): absolute scores −5..5 and the page's pairwise votes. Each labelled image is
VAE-encoded once (on the GPU in half precision, ``encode_batch_size`` at a time; on a CPU one
image at a time, so 512 px images cost ~0.7 GB each, not ×32); under ``accelerate launch`` each
process encodes its share (:mod:`almost.ranks`) and the main one trains the CNN. A fixed-seed split by image
keeps three sets apart: *train*; *validation* (``val_fraction``), which picks the best epoch
and stops training after ``patience`` epochs without improvement; and *held-out*
(``holdout_fraction``), used only for the reported figures — correlation with the scores and
pairwise accuracy — so they are not flattered by the epoch choice.

The loss: on absolute scores MSE on ``score / 5`` (``loss=mse``) or Bradley–Terry on every
differently scored pair of a batch (``loss=bradley-terry``); plus, always,
``pair_weight`` × Bradley–Terry on the pairwise votes, which needs no absolute score at all.
``reward_cnn.safetensors`` holds the best epoch; ``history.json`` every epoch's figures.
Labels whose image file is gone are reported, never used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from almost import ranks
from almost.errors import UserError
from almost.io import atomic_write_json, read_json
from almost.observe.console import console, progress

from ..datasets import sidecar
from ..scores import migrate_round_logs, run_log
from .pretrain import model_dir


def split(keys: list[str], val_fraction: float, holdout_fraction: float, seed: int):
    """``(train, val, held_out)`` index tensors of a fixed-seed permutation of ``keys``."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(keys), generator=g)
    n = len(keys)
    n_hold = max(1, int(round(n * holdout_fraction))) if holdout_fraction > 0 else 0
    n_val = max(1, int(round(n * val_fraction))) if val_fraction > 0 else 0
    if n - n_hold - n_val < 2:
        raise UserError(f"only {n} labelled images: too few for a training, validation and held-out set; "
                        "label more images (or lower reward_model.val_fraction / holdout_fraction)")
    return perm[n_hold + n_val:], perm[n_hold:n_hold + n_val], perm[:n_hold]


def score_pairs(idx: list[int], y: torch.Tensor, has: torch.Tensor):
    """Index pairs ``(i, j)`` of differently scored images and target P(i beats j)."""
    a, b, t = [], [], []
    for u in range(len(idx)):
        for v in range(u + 1, len(idx)):
            i, j = idx[u], idx[v]
            if has[i] and has[j] and y[i] != y[j]:
                a.append(i)
                b.append(j)
                t.append(1.0 if y[i] > y[j] else 0.0)
    return a, b, t


def bt(pred_a, pred_b, target) -> torch.Tensor:
    """Bradley–Terry: P(a beats b) = σ(5·(r_a − r_b)) (rewards live on the score/5 scale)."""
    return torch.nn.functional.binary_cross_entropy_with_logits((pred_a - pred_b) * 5, target)


def run(ctx) -> None:
    from ..encoding import encode_files, encode_prompts
    from ..loaders import best_device, load_text_encoder, load_vae
    from ..reward_cnn import LatentCNN, effective_pool, save_reward_cnn

    cfg = ctx.config.reward_model
    out = ctx.stage_dir()
    migrate_round_logs(ctx.run_dir)  # runs made before the run-wide store
    ds = ctx.registry.build(_key(cfg.dataset, "dataset"), {}, "dataset", run_dir=ctx.run_dir)
    scores, votes, files, missing = ds.scores, ds.votes, ds.files, ds.missing
    if missing:
        console.print(f"[yellow]{len(missing)} labelled image(s) are missing and are left out "
                      f"(their files: see {run_log(ctx.run_dir).path})[/]")
    keys = sorted(files)
    if len(scores) + len(votes) < 4 or len(keys) < 4:
        raise UserError(f"only {len(scores)} scored images and {len(votes)} pairwise votes in "
                        f"{run_log(ctx.run_dir).path}; label at least 4 images (more is better)")
    pos = {k: i for i, k in enumerate(keys)}
    y = torch.tensor([scores.get(k, 0) / 5.0 for k in keys])
    has = torch.tensor([k in scores for k in keys])
    vote_idx = torch.tensor([(pos[a], pos[b]) for a, b, _ in votes], dtype=torch.long).reshape(-1, 2)
    vote_t = torch.tensor([t for *_, t in votes], dtype=torch.float32)

    # -- latents (and prompt vectors), on the accelerator in half precision ---------------------
    mpath = model_dir(ctx)
    device = best_device()
    vae = load_vae(mpath, device)
    pipe = load_text_encoder(mpath, device) if cfg.prompt_conditioned else None
    step = cfg.encode_batch_size * 4
    mine = ranks.share(keys, step)  # under `accelerate launch`: whole chunks, round-robin
    ranks.say_share("reward", len(mine), len(keys), "images to encode")
    with progress() as bar:
        task = bar.add_task("reward: encode images", total=len(mine), info="")
        parts = []
        for k in range(0, len(mine), step):
            chunk = [files[key] for key in mine[k:k + step]]
            parts.append(encode_files(vae, chunk, cfg.encode_batch_size))
            bar.advance(task, len(chunk))
    rows = list(torch.cat(parts)) if parts else []
    lat = torch.stack(ranks.gather_shares(rows, len(keys), step))
    if not ranks.is_main():  # the small CNN trains in the main process, which writes it
        return
    text = None
    if pipe is not None:
        prompts = [_prompt_of(files[k]) for k in keys]
        text = encode_prompts(pipe, prompts, pooled=True).cpu()
    del vae, pipe
    if device == "cuda":
        torch.cuda.empty_cache()

    train, val, hold = split(keys, cfg.val_fraction, cfg.holdout_fraction, cfg.seed)
    in_set = {name: torch.zeros(len(keys), dtype=torch.bool) for name in ("train", "val", "hold")}
    for name, idx in (("train", train), ("val", val), ("hold", hold)):
        in_set[name][idx] = True

    def votes_in(name):
        if not len(vote_idx):
            return torch.zeros(0, dtype=torch.long)
        m = in_set[name]
        return torch.nonzero(m[vote_idx[:, 0]] & m[vote_idx[:, 1]]).flatten()

    train_votes = votes_in("train")
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    pool = effective_pool(cfg.pool, tuple(lat.shape[-2:]), cfg.depth)
    text_dim = 0 if text is None else text.shape[1]
    model = LatentCNN(lat.shape[1], cfg.width, cfg.depth, pool, text_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)

    def predict(idx, flip=None):
        x = lat[idx]
        if flip is not None:
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)  # mirror augmentation
        return model(x, None if text is None else text[idx])

    def loss_of(img_idx, vote_rows):
        """Loss on the scored images ``img_idx`` plus the votes ``vote_rows``; None if nothing to fit."""
        parts = []
        scored = img_idx[has[img_idx]]
        if len(scored):
            pred = predict(scored)
            if cfg.loss == "mse":
                parts.append(torch.nn.functional.mse_loss(pred, y[scored]))
            else:
                a, b, t = score_pairs(list(range(len(scored))), y[scored], torch.ones(len(scored), dtype=torch.bool))
                if a:
                    parts.append(bt(pred[a], pred[b], torch.tensor(t)))
        if len(vote_rows) and cfg.pair_weight > 0:
            va, vb = vote_idx[vote_rows, 0], vote_idx[vote_rows, 1]
            parts.append(cfg.pair_weight * bt(predict(va), predict(vb), vote_t[vote_rows]))
        return sum(parts) if parts else None

    def figures(idx, name):
        """Correlation with the scores and pairwise accuracy (score pairs + decided votes) on a set."""
        with torch.no_grad():
            pred = torch.zeros(len(keys))
            if len(idx):
                pred[idx] = predict(idx)
        out = {}
        s = idx[has[idx]]
        if len(s) >= 3 and y[s].std() > 0:
            out["corr"] = float(np.corrcoef(pred[s].numpy(), y[s].numpy())[0, 1])
        a, b, t = score_pairs(s.tolist(), y, has)
        rows = votes_in(name)
        for r in rows.tolist():
            if vote_t[r] != 0.5:
                a.append(int(vote_idx[r, 0]))
                b.append(int(vote_idx[r, 1]))
                t.append(float(vote_t[r]))
        if a:
            out["pair_acc"] = float(((pred[a] > pred[b]).float() == torch.tensor(t)).float().mean())
            out["pairs"] = len(a)
        return out

    best, best_epoch, bad, history = float("inf"), -1, 0, []
    val_votes = votes_in("val")
    meta = {"in_channels": lat.shape[1], "width": cfg.width, "depth": cfg.depth, "pool": pool, "text_dim": text_dim,
            "model": str(mpath), "loss": cfg.loss, "score_scale": 5.0}
    with progress() as bar:
        task = bar.add_task("reward model", total=cfg.epochs, info="")
        for epoch in range(cfg.epochs):
            model.train()
            order = train[torch.randperm(len(train), generator=g)]
            vorder = train_votes[torch.randperm(len(train_votes), generator=g)]
            n_steps = max(-(-len(order) // cfg.batch_size), -(-len(vorder) // cfg.batch_size), 1)
            losses = []
            for step in range(n_steps):
                idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size] if step * cfg.batch_size < len(order) \
                    else order[:0]
                vrows = vorder[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                loss = loss_of(idx, vrows)
                if loss is None:
                    continue
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
            train_loss = float(np.mean(losses)) if losses else 0.0
            ctx.check_finite(train_loss, what=f"the loss of epoch {epoch + 1}")
            model.eval()
            with torch.no_grad():
                vl = loss_of(val, val_votes) if len(val) else None
                vl = float(vl) if vl is not None else train_loss
            rec = {"epoch": epoch, "train_loss": train_loss, "val_loss": vl,
                   **{f"val_{k}": v for k, v in figures(val, "val").items()}}
            history.append(rec)
            if vl < best - 1e-6:
                best, best_epoch, bad = vl, epoch, 0
                save_reward_cnn(model, out, {**meta, "epoch": epoch, "val_loss": vl})
            else:
                bad += 1
            bar.update(task, advance=1, info=f"val loss {vl:.4f} (best {best:.4f} @ {best_epoch})")
            ctx.log_step(epoch + 1, **{k: v for k, v in rec.items() if k != "epoch"})
            if bad >= cfg.patience:
                break
    atomic_write_json(out / "history.json", history)

    # -- the best epoch on the held-out set, which played no part in choosing it ---------------
    from ..reward_cnn import load_reward_cnn

    model, _ = load_reward_cnn(out)
    held = figures(hold, "hold")
    record = read_json(out / "reward_cnn.json", "reward model record")
    record.update({f"heldout_{k}": v for k, v in held.items()})
    atomic_write_json(out / "reward_cnn.json", record)
    rounds = sorted({p.parts[-4] for p in files.values() if len(p.parts) >= 4 and p.parts[-4].startswith("round-")})
    console.print(f"reward model: {len(scores)} scores + {len(votes)} votes from {len(rounds) or 1} round(s); "
                  f"best epoch {best_epoch} (validation); held-out correlation {held.get('corr', float('nan')):.3f}, "
                  f"pairwise accuracy {held.get('pair_acc', float('nan')):.3f}")
    ctx.log_metrics(labelled_images=len(keys), scores=len(scores), votes=len(votes), rounds_labelled=len(rounds),
                    train_images=len(train), val_images=len(val), heldout_images=len(hold),
                    missing_images=len(missing), best_epoch=best_epoch, val_loss=best,
                    **{f"heldout_{k}": v for k, v in held.items()})
    ctx.add_artifact(out / "reward_cnn.safetensors", "reward model")


def _prompt_of(image: Path) -> str:
    return sidecar(image).get("prompt", "")


def _key(name: str, kind: str) -> str:
    return name if "/" in name else f"{kind}/{name}"
