"""Stage ``decoder``: fine-tune only the VAE decoder on the game's frames.

The inputs are the very latents the world model learns from (``encode/latents``), the targets
the recorded pixels of the training episodes (``train/split.json``); the encoder stays
frozen. If the fine-tuned decoder scores lower on held-out frames than the original, the
original is kept (``kept_finetuned`` = 0). Loss: MSE, plus ``decoder.perceptual_weight`` × LPIPS when that is > 0 (needs the
``lpips`` package and its backbone weights on disk; otherwise a clear error). The whole VAE
is saved in diffusers layout as ``decoder/vae/``; the rollout stage prefers it over the
encode stage's VAE. Reports reconstruction PSNR on held-out frames before and after.

Runs under accelerate (``accelerate launch``: every process trains on its own batches, DDP
averages the decoder's gradients, the main process alone writes); the loss stays on the
device and is read back (and checked finite) every 25 steps.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from almost.errors import UserError


def run(ctx) -> None:
    from almost.io import read_json
    from almost.observe.console import console
    from almost.train.threads import cpu_budget, set_threads

    from ..model.latents import LatentStore
    from ..model.metrics import psnr, to_unit
    from ..model.vae import decode_latents, load_vae

    cfg, dcfg = ctx.config, ctx.config.decoder
    vae_out = ctx.stage_dir() / "vae"
    if (vae_out / "config.json").is_file():
        console.print(f"decoder: {vae_out} already holds the fine-tuned VAE")
        return
    latent_dir = ctx.find_stage_dir("encode") / "latents"
    store = LatentStore(latent_dir, ctx.run_dir)
    split = read_json(ctx.find_stage_dir("train") / "split.json", "episode split")
    vae = load_vae(latent_dir / store.index["vae"])
    pos_of = {e["id"]: i for i, e in enumerate(store.episodes)}
    train_pos = [pos_of[i] for i in split["train"] if i in pos_of]
    held_pos = [pos_of[i] for i in split["heldout"] if i in pos_of] or train_pos
    perceptual = _perceptual(dcfg)
    acc = ctx.accelerator(mixed_precision=dcfg.mixed_precision)
    if acc.device.type == "cpu":  # a GPU stage leaves the CPU threads alone
        set_threads(cpu_budget())
    vae = vae.to(acc.device)
    eval_lat, eval_frames = _sample(store, np.random.default_rng(cfg.seed + 7), held_pos, 64)
    target = to_unit(eval_frames)
    before = float(psnr(decode_latents(vae.eval(), eval_lat), target).mean())
    original = copy.deepcopy(vae.state_dict())
    t0 = time.time()
    _fine_tune(ctx, acc, vae, lambda rng, n: _sample(store, rng, train_pos, n), perceptual)
    vae.eval()
    after = float(psnr(decode_latents(vae, eval_lat), target).mean())
    kept = after >= before
    if not kept:  # too few steps can make it worse: never hand rollout a worse decoder
        vae.load_state_dict(original)
        console.print(f"[yellow]decoder: fine-tuning lowered held-out PSNR ({before:.2f} → "
                      f"{after:.2f} dB); keeping the original decoder[/]")
    acc.wait_for_everyone()
    if not acc.is_main_process:
        return
    from almost.io import atomic_dir

    with atomic_dir(vae_out) as tmp:  # a re-run after a crash replaces a folder already there
        vae.save_pretrained(tmp, safe_serialization=True)
    ctx.add_artifact(vae_out, "fine-tuned VAE")
    ctx.log_metrics(psnr_db_before=before, psnr_db_after=after, kept_finetuned=float(kept), steps=dcfg.steps,
                    seconds=round(time.time() - t0, 2))
    console.print(f"decoder: held-out reconstruction PSNR {before:.2f} → {after:.2f} dB "
                  f"({'fine-tuned decoder kept' if kept else 'original decoder kept'})")


def _sample(store, rng, positions, n: int):
    """``n`` (latent, padded frame) pairs: frames drawn from up to 4 of the episodes at ``positions``."""
    import torch

    from ..model.vae import pad_frames

    size = tuple(store.index.get("padded_size", store.frame_shape[:2]))
    eps = rng.choice(positions, size=min(4, len(positions)), replace=False)
    picks = [(int(p), int(rng.integers(0, store.episodes[p]["length"]))) for p in rng.choice(eps, n)]
    lat = torch.from_numpy(np.stack([np.asarray(store.latents(p, t, t + 1)[0], np.float32) for p, t in picks]))
    frames = pad_frames(np.stack([store.pixels(p)[t] for p, t in picks]), size)
    return lat, frames


def _perceptual(dcfg):
    """The LPIPS model when ``decoder.perceptual_weight`` > 0 (one sentence if it is not on disk)."""
    from ..model.metrics import lpips_model

    if dcfg.perceptual_weight <= 0:
        return None
    perceptual = lpips_model()
    if perceptual is None:
        raise UserError("decoder.perceptual_weight > 0 needs the lpips package and its AlexNet "
                        "weights on disk (torch hub cache); install them or set it to 0")
    return perceptual


def _fine_tune(ctx, acc, vae, draw, perceptual) -> None:
    """``decoder.steps`` steps on the decoder alone (the encoder frozen), batches from
    ``draw(rng, n)``; the loss is read back and checked every 25 steps."""
    import torch

    from almost.observe.console import progress

    from ..cpu_share import ThreadRetune
    from ..model.metrics import lpips_score, to_unit
    from ..model.vae import output_to_unit

    dcfg = ctx.config.decoder
    vae.requires_grad_(False)
    vae.decoder.requires_grad_(True)
    if vae.post_quant_conv is not None:
        vae.post_quant_conv.requires_grad_(True)
    opt = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=dcfg.lr)
    decode, opt = acc.prepare(_Decode(vae), opt)  # DDP syncs the decoder's gradients
    rng = np.random.default_rng([ctx.config.seed, 3, acc.process_index])  # each process its own batches
    vae.train()
    if perceptual is not None:
        perceptual = perceptual.to(acc.device)
    loss_sum = None
    retune = ThreadRetune(enabled=acc.device.type == "cpu")  # threads follow the idle cores as it runs
    with progress() as bar:
        task = bar.add_task("fine-tune decoder", total=dcfg.steps, info="")
        for step in range(1, dcfg.steps + 1):
            lat, frames = draw(rng, dcfg.batch_size)
            x = to_unit(frames).to(acc.device) * 2 - 1
            with acc.autocast():
                rec = decode(lat.to(acc.device) / vae.config.scaling_factor)
                loss = torch.nn.functional.mse_loss(rec.float(), x)
                if perceptual is not None:
                    loss = loss + dcfg.perceptual_weight * lpips_score(perceptual, output_to_unit(rec), (x + 1) / 2).mean()
            opt.zero_grad(set_to_none=True)
            acc.backward(loss)
            opt.step()
            d = loss.detach()
            loss_sum = d if loss_sum is None else loss_sum + d
            if step % 25 == 0 or step == dcfg.steps:  # the one host sync
                lv = ctx.check_finite(loss_sum / (25 if step % 25 == 0 else step % 25), step=step)
                loss_sum = None
                bar.update(task, info=f"loss {lv:.4f}")
                ctx.log_step(step, loss=lv)
            bar.update(task, advance=1)
            retune()


def _decode_module(vae):
    import torch

    class Decode(torch.nn.Module):
        """``vae.decode(z).sample`` as a module's forward, so DDP sees (and syncs) the call."""

        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, z):
            return self.vae.decode(z).sample

    return Decode(vae)


_Decode = _decode_module
