""":mod:`almost_gamengen.model.vae`: the shipped tiny VAE."""

from __future__ import annotations

import json

import numpy as np
import torch


# -- the shipped VAE --------------------------------------------------------------------------
def test_the_shipped_vae_is_small_and_reconstructs_basic_with_its_monster(app):
    """The packaged weights (never trained on `basic`) on frames of `basic`."""
    from almost_gamengen.model.metrics import box_masks, psnr, psnr_masked, ssim, to_unit
    from almost_gamengen.model.vae import decode_latents, encode_frames, load_vae, shipped_vae_dir

    d = shipped_vae_dir((48, 64))
    assert d is not None and shipped_vae_dir((32, 32)) is None
    size = sum(p.stat().st_size for p in d.iterdir())
    assert size < 2_000_000
    vae = load_vae(d).eval()
    assert next(vae.parameters()).dtype == torch.float32 and vae.config.latent_channels == 16
    card = json.loads((d / "card.json").read_text())
    assert card["held_out"] == "basic" and "basic" not in card["train_scenarios"]
    env = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=40, labels=True)
    frames, boxes = [], []
    try:
        for seed in (11, 12):
            f, info = env.reset(seed=seed)
            for a in [0, 5, 5, 3, 7, 6, 6, 0] * 2:
                frames.append(f)
                boxes.append(info["objects"])
                f, _, term, trunc, info = env.step(a)
                if term or trunc:
                    break
    finally:
        env.close()
    frames = np.stack(frames)
    z = encode_frames(vae, frames)
    assert z.shape[1:] == (16, 12, 16) and 0.5 < float(z.std()) < 2.0  # scaled to about unit std
    rec, real = decode_latents(vae, z), to_unit(frames)
    got = {"ssim": float(ssim(rec, real).mean()), "psnr": float(psnr(rec, real).mean())}
    mask = box_masks(boxes, (48, 64))
    got["objects"] = psnr_masked(rec, real, mask)
    print(got)
    # its card's held-out figures on 600 frames (SSIM 0.67, 28.1 dB, 21.7 dB in the boxes), less a margin
    assert got["ssim"] > 0.6 and got["psnr"] > 26 and mask.any() and got["objects"] > 19
