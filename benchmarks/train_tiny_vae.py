"""Train the tiny VAE that ships inside almost_gamengen (``pretrained/vae-48x64``).

    uv run python benchmarks/train_tiny_vae.py               # record, train, evaluate, write
    uv run python benchmarks/train_tiny_vae.py --eval-only   # score the shipped weights again

Frames come from ViZDoom scenarios played by the scripted and the random policy at the size
the tiny and small profiles use (48×64, no HUD, frame skip 4). **`basic` is held out**: the
VAE never sees a frame of it (nor of `simpler_basic`/`rocket_basic`, which share its room)
and is scored on it — whole-frame PSNR/SSIM and PSNR inside the game's own object boxes
(ViZDoom's labels buffer: the Cacodemon). The loss is MSE + an L1 on image gradients (edges,
which PSNR alone lets blur) and weighs pixels inside object boxes ``--object-weight`` times
more, so small monsters survive. Everything is seeded (``--seed``): game seeds, the policies,
the init, the batches; torch on one thread, so a re-run gives the same weights on the same
machine.

The weights are written in diffusers layout in fp16 (``config.json`` +
``diffusion_pytorch_model.safetensors``) with ``card.json`` (settings, scenarios, figures).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

TRAIN_SCENARIOS = ["defend_the_center", "defend_the_line", "health_gathering", "deadly_corridor",
                   "my_way_home", "take_cover", "predict_position"]
HELD_OUT = "basic"
OUT = Path(__file__).resolve().parents[1] / "packages/gamengen/src/almost_gamengen/pretrained/vae-48x64"


def record(scenario: str, frames: int, seed: int, stream: str, h: int = 48, w: int = 64):
    """``frames`` frames (uint8 (N, H, W, 3)) and their object boxes from scripted and random
    play of ``scenario``; episodes alternate between the two policies."""
    from almost_gamengen.data.envs import VizdoomEnv
    from almost_gamengen.data.policies import RandomPolicy, ScriptedPolicy
    from almost_gamengen.data.seeds import game_seed

    env = VizdoomEnv(scenario, height=h, width=w, frame_skip=4, max_steps=150, labels=True)
    out, boxes, ep = [], [], 0
    try:
        policies = [ScriptedPolicy(env.action_names), RandomPolicy(len(env.action_names))]
        while len(out) < frames:
            pol = policies[ep % 2]
            s = game_seed(seed, stream, ep)
            pol.reset(s)
            frame, info = env.reset(seed=s)
            done = False
            while not done and len(out) < frames:
                out.append(frame)
                boxes.append(info["objects"])
                frame, _, term, trunc, info = env.step(pol.act(frame))
                done = term or trunc
            ep += 1
    finally:
        env.close()
    return np.stack(out), boxes


def load_or_record(work: Path, seed: int, per_scenario: int, eval_frames: int):
    work.mkdir(parents=True, exist_ok=True)
    cache = work / f"frames-s{seed}-{per_scenario}-{eval_frames}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=True)
        return z["train"], list(z["train_boxes"]), z["eval"], list(z["eval_boxes"]), json.loads(str(z["counts"]))
    train, tboxes, counts = [], [], {}
    for i, sc in enumerate(TRAIN_SCENARIOS):
        f, b = record(sc, per_scenario, seed + 1000 * i, "collect")
        train.append(f)
        tboxes += b
        counts[sc] = int(sum(len(x) > 0 for x in b))
        print(f"recorded {len(f)} frames of {sc} ({counts[sc]} with objects)", flush=True)
    ev, eboxes = record(HELD_OUT, eval_frames, seed, "eval")
    print(f"recorded {len(ev)} held-out frames of {HELD_OUT}", flush=True)
    train = np.concatenate(train)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, train=train, train_boxes=np.array(tboxes, dtype=object), eval=ev,
             eval_boxes=np.array(eboxes, dtype=object), counts=json.dumps(counts))
    tmp.replace(cache)
    return train, tboxes, ev, eboxes, counts


@torch.no_grad()
def evaluate(vae, frames, boxes, batch: int = 64) -> dict[str, float]:
    from almost_gamengen.model.metrics import (
        box_masks,
        psnr,
        psnr_masked,
        sharpness_ratio,
        ssim,
        to_unit,
    )
    from almost_gamengen.model.vae import decode_latents, encode_frames

    rec = torch.cat([decode_latents(vae, encode_frames(vae, frames[a:a + batch]))
                     for a in range(0, len(frames), batch)])
    real = to_unit(frames)
    mask = box_masks(boxes, frames.shape[1:3])
    has = mask.flatten(1).any(1)
    return {"psnr_db": float(psnr(rec, real).mean()), "ssim": float(ssim(rec, real).mean()),
            "psnr_db_objects": psnr_masked(rec, real, mask),
            "ssim_frames_with_objects": float(ssim(rec[has], real[has]).mean()) if has.any() else float("nan"),
            "frames_with_objects": int(has.sum()), "object_pixels": int(mask.sum()),
            "sharpness_ratio": sharpness_ratio(rec, real)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--channels", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--latent-channels", type=int, default=16)
    ap.add_argument("--layers-per-block", type=int, default=1)
    ap.add_argument("--kl-weight", type=float, default=1e-6)
    ap.add_argument("--edge-weight", type=float, default=0.5)
    ap.add_argument("--object-weight", type=float, default=4.0)
    ap.add_argument("--frames-per-scenario", type=int, default=2500)
    ap.add_argument("--eval-frames", type=int, default=600)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--crop", type=int, nargs=2, default=[24, 32], metavar=("H", "W"),
                    help="train on random crops of this size (the VAE is fully convolutional: a "
                    "quarter of the pixels makes a step ~4× cheaper; 0 0: whole frames)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/almost-tiny-vae"))
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--eval-only", action="store_true")
    args = ap.parse_args()

    from almost.io import atomic_dir
    from almost_gamengen.model.metrics import box_masks
    from almost_gamengen.model.vae import build_tiny_vae, frames_to_input, load_vae

    torch.set_num_threads(args.threads)
    train, tboxes, ev, eboxes, counts = load_or_record(args.work, args.seed, args.frames_per_scenario,
                                                        args.eval_frames)
    if args.eval_only:
        print(json.dumps(evaluate(load_vae(args.out).eval(), ev, eboxes), indent=1))
        return
    torch.manual_seed(args.seed)
    vae = build_tiny_vae(args.channels, (48, 64), latent_channels=args.latent_channels,
                         layers_per_block=args.layers_per_block)
    n_params = sum(p.numel() for p in vae.parameters())
    print(f"VAE {args.channels}, {args.latent_channels} latent channels: {n_params / 1e6:.2f} M parameters; "
          f"{len(train)} training frames", flush=True)
    masks = box_masks(tboxes, train.shape[1:3])
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.05)
    rng = np.random.default_rng(args.seed)
    log, t0, loss_sum = [], time.time(), 0.0
    vae.train()
    for step in range(1, args.steps + 1):
        idx = rng.integers(0, len(train), args.batch)
        x = frames_to_input(train[idx])
        wmap = 1.0 + args.object_weight * masks[idx].float()[:, None]
        if args.crop[0] and args.crop[1]:  # one random window per step (multiples of the latent cell: 4)
            ch, cw = args.crop
            y0 = int(rng.integers(0, (48 - ch) // 4 + 1)) * 4
            x0 = int(rng.integers(0, (64 - cw) // 4 + 1)) * 4
            x, wmap = x[:, :, y0:y0 + ch, x0:x0 + cw], wmap[:, :, y0:y0 + ch, x0:x0 + cw]
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.mean).sample
        loss = ((rec - x).pow(2) * wmap).mean()
        if args.edge_weight:
            for d in (2, 3):
                loss = loss + args.edge_weight * (rec.diff(dim=d) - x.diff(dim=d)).abs().mean()
        loss = loss + args.kl_weight * post.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss_sum += float(loss.detach())
        if step % 50 == 0:
            print(f"step {step} loss {float(loss.detach()):.4f} {time.time() - t0:.0f} s", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            vae.eval()
            m = evaluate(vae, ev, eboxes)
            vae.train()
            m.update(step=step, loss=loss_sum / args.eval_every, seconds=round(time.time() - t0, 1))
            loss_sum = 0.0
            log.append(m)
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}), flush=True)
    vae.eval()
    with torch.no_grad():  # scale the latents to unit std, as the world model expects
        sample = train[np.random.default_rng(args.seed + 1).integers(0, len(train), 512)]
        std = float(vae.encode(frames_to_input(sample)).latent_dist.mean.std())
    vae.register_to_config(scaling_factor=1.0 / max(std, 1e-6))
    final = evaluate(vae, ev, eboxes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(args.out) as tmp:
        vae.to(torch.float16).save_pretrained(tmp, safe_serialization=True)
        card = {"what": "tiny AutoencoderKL for 48×64 ViZDoom frames (no HUD), trained by "
                        "benchmarks/train_tiny_vae.py", "settings": {k: (str(v) if isinstance(v, Path) else v)
                                                                      for k, v in vars(args).items()},
                "train_scenarios": TRAIN_SCENARIOS, "frames_with_objects": counts, "held_out": HELD_OUT,
                "train_frames": int(len(train)), "parameters": n_params, "latent_std": std,
                "train_seconds": round(time.time() - t0, 1), "held_out_scores_fp32": final, "log": log}
        (Path(tmp) / "card.json").write_text(json.dumps(card, indent=1))
    vae16 = load_vae(args.out).eval()
    print("shipped (fp16 weights, loaded as fp32):", json.dumps(evaluate(vae16, ev, eboxes)), flush=True)


if __name__ == "__main__":
    main()
