"""Stage ``reward``: train the latent CNN reward model on this round's scores.

Images are VAE-encoded once; a fixed-seed split holds out ``holdout_fraction`` of them. The
loss is MSE on scores scaled to [−1, 1] (``loss=mse``), or Bradley–Terry on pairs
(``loss=bradley-terry``: every pair of differently scored images plus the page's pairwise
votes). Training stops early when the held-out loss has not improved for ``patience`` epochs;
the best epoch's weights are kept (``reward_cnn.safetensors``), and every epoch's held-out
figures are in ``history.json``. Scores whose image is missing are reported, never used.
"""

from __future__ import annotations

import numpy as np
import torch

from almost.console import console, progress
from almost.errors import UserError
from almost.io import atomic_write_json

from ..scores import RatingLog, read_scores_json
from .pretrain import model_dir


def pair_lists(names: list[str], scores: dict[str, int], votes) -> tuple[list[int], list[int], list[float]]:
    """Index pairs (i, j) and the target P(i beats j) from scores and pairwise votes."""
    idx = {n: k for k, n in enumerate(names)}
    a, b, y = [], [], []
    for i, n in enumerate(names):
        for j in range(i + 1, len(names)):
            if scores[n] != scores[names[j]]:
                a.append(i)
                b.append(j)
                y.append(1.0 if scores[n] > scores[names[j]] else 0.0)
    for left, right, winner in votes:
        if left in idx and right in idx:
            a.append(idx[left])
            b.append(idx[right])
            y.append({"left": 1.0, "right": 0.0, "tie": 0.5}[winner])
    return a, b, y


def run(ctx) -> None:
    from PIL import Image

    from ..model import encode_images, load_pipeline
    from ..reward_cnn import LatentCNN, save_reward_cnn

    cfg = ctx.config.reward_model
    images_dir = ctx.find_stage_dir("generate") / "images"
    score_dir = ctx.find_stage_dir("score")
    out = ctx.stage_dir()
    present = {p.name for p in images_dir.glob("*.png")}
    all_scores = read_scores_json(score_dir / "scores.json")
    missing = sorted(set(all_scores) - present)
    if missing:
        console.print(f"[yellow]{len(missing)} scored image(s) are missing and are left out: "
                      f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}[/]")
    scores = {k: v for k, v in all_scores.items() if k in present}
    votes = RatingLog(score_dir / "ratings.jsonl").pairs()
    if len(scores) < 4:
        raise UserError(f"only {len(scores)} scored images in {score_dir}; score at least 4 (more is better)")

    mpath = model_dir(ctx)
    pipe = load_pipeline(mpath)
    names = sorted(scores)
    with torch.no_grad():
        imgs = torch.stack([torch.from_numpy(np.array(Image.open(images_dir / n).convert("RGB"))).permute(2, 0, 1)
                            for n in names]).float() / 255
        lat = torch.cat([encode_images(pipe, imgs[i:i + 32]) for i in range(0, len(imgs), 32)]).float()
    y = torch.tensor([scores[n] / 5.0 for n in names])

    g = torch.Generator().manual_seed(cfg.seed)
    perm = torch.randperm(len(names), generator=g)
    n_hold = max(2, int(round(len(names) * cfg.holdout_fraction)))
    hold, train = perm[:n_hold], perm[n_hold:]
    torch.manual_seed(cfg.seed)
    model = LatentCNN(lat.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)

    def bt_loss(idx, pred):
        sub = [names[i] for i in idx.tolist()]
        a, b, t = pair_lists(sub, {n: scores[n] for n in sub}, votes)
        if not a:
            return pred.sum() * 0
        diff = pred[a] - pred[b]
        return torch.nn.functional.binary_cross_entropy_with_logits(diff * 5, torch.tensor(t))

    def loss_of(idx, pred):
        if cfg.loss == "mse":
            return torch.nn.functional.mse_loss(pred, y[idx])
        return bt_loss(idx, pred)

    best, best_epoch, bad, history = float("inf"), -1, 0, []
    with progress() as bar:
        task = bar.add_task("reward model", total=cfg.epochs, info="")
        for epoch in range(cfg.epochs):
            model.train()
            order = train[torch.randperm(len(train), generator=g)]
            for k in range(0, len(order), cfg.batch_size):
                idx = order[k:k + cfg.batch_size]
                flip = torch.rand(len(idx), generator=g) < 0.5  # mirror augmentation
                x = torch.where(flip.view(-1, 1, 1, 1), lat[idx].flip(-1), lat[idx])
                loss = loss_of(idx, model(x))
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                pred = model(lat[hold])
                hl = float(loss_of(hold, pred))
                corr = float(np.corrcoef(pred.numpy(), y[hold].numpy())[0, 1]) if y[hold].std() > 0 else 0.0
                a, b, t = pair_lists([names[i] for i in hold.tolist()], scores, [])
                acc = float(np.mean([(pred[i] > pred[j]).item() == (tt > 0.5) for i, j, tt in zip(a, b, t)])) if a else 0.0
            history.append({"epoch": epoch, "heldout_loss": hl, "heldout_corr": corr, "heldout_pair_acc": acc})
            if hl < best - 1e-6:
                best, best_epoch, bad = hl, epoch, 0
                save_reward_cnn(model, out, {"in_channels": lat.shape[1], "width": 32, "depth": 3,
                                             "model": str(mpath), "loss": cfg.loss, "score_scale": 5.0,
                                             "epoch": epoch, "heldout_loss": hl, "heldout_corr": corr,
                                             "heldout_pair_acc": acc})
            else:
                bad += 1
            bar.update(task, advance=1, info=f"held-out loss {hl:.4f} (best {best:.4f} @ {best_epoch})")
            if bad >= cfg.patience:
                break
    atomic_write_json(out / "history.json", history)
    b = history[best_epoch]
    console.print(f"reward model: best epoch {best_epoch}, held-out loss {b['heldout_loss']:.4f}, "
                  f"correlation {b['heldout_corr']:.3f}, pairwise accuracy {b['heldout_pair_acc']:.3f}")
    ctx.log_metrics(train_images=len(train), heldout_images=len(hold), missing_images=len(missing),
                    best_epoch=best_epoch, heldout_loss=b["heldout_loss"], heldout_corr=b["heldout_corr"],
                    heldout_pair_acc=b["heldout_pair_acc"])
    ctx.add_artifact(out / "reward_cnn.safetensors", "reward model")
