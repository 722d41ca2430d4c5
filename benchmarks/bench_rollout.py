"""Rollout overhead: frames/s of gamengen's autoregressive ``rollout`` side by side with the
bare cost of the calls it cannot avoid (``ddim_steps`` UNet forwards + one VAE decode per
frame, timed on the same tensors). Target: under 10% overhead.

Run: ``uv run python benchmarks/bench_rollout.py [--frames 32 --steps 4]`` (tiny profile's
model and VAE sizes at 48×64 frames; weights are random, the cost is the same).
"""

from __future__ import annotations

import argparse
import time

import torch

from almost_gamengen.config import tiny
from almost_gamengen.model.sampling import Sampler, SampleSettings, make_scheduler
from almost_gamengen.model.vae import FrameCodec, build_tiny_vae
from almost_gamengen.model.world_model import build_world_model, noise_scheduler_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="where the models and tensors live (the rollout stage uses the accelerator's)")
    args = ap.parse_args()
    dev = torch.device(args.device)
    cfg = tiny()
    hw = (48, 64)
    vae = build_tiny_vae(cfg.encode.vae_block_out_channels, hw).eval().to(dev)
    f = 2 ** (len(cfg.encode.vae_block_out_channels) - 1)
    lat_hw = (hw[0] // f, hw[1] // f)
    model = build_world_model(cfg.model, 3, lat_hw, seed=0).eval().to(dev)
    sched = make_scheduler(noise_scheduler_config(cfg.model.train_timesteps))
    c = cfg.model.context
    context = torch.randn(c, 4, *lat_hw, device=dev)
    mask = torch.ones(c, device=dev)
    actions = torch.randint(0, 3, (c + args.frames - 1,), device=dev)

    def run_rollout():
        Sampler(model, sched, SampleSettings(steps=args.steps)).rollout(
            FrameCodec(vae, hw, hw), context, mask, actions, torch.Generator(dev).manual_seed(0))

    x = torch.randn(1, 4, *lat_hw, device=dev)
    ctx1, a1, m1 = context[None], actions[None, :c], mask[None]
    b1 = torch.zeros(1, dtype=torch.long, device=dev)

    sched.set_timesteps(args.steps, device=dev)
    timesteps = [int(t) for t in sched.timesteps]

    @torch.no_grad()
    def bare():
        for _ in range(args.frames):
            for t in timesteps:
                model(x, torch.tensor([t], device=dev), ctx1, a1, m1, b1)
            _ = vae.decode(x).sample

    run_rollout()
    bare()  # warm-up
    t_roll, t_bare = [], []
    for _ in range(args.repeats):  # interleaved, so machine load hits both alike
        t0 = time.perf_counter()
        run_rollout()
        t_roll.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare()
        t_bare.append(time.perf_counter() - t0)
    r, b = min(t_roll), min(t_bare)
    print(f"rollout: {args.frames} frames, {args.steps} DDIM steps, latents 4×{lat_hw[0]}×{lat_hw[1]}, "
          f"context {c}, device {dev}, torch threads {torch.get_num_threads()}")
    print(f"  rollout()                    {args.frames / r:8.2f} frames/s")
    print(f"  bare UNet + decode calls     {args.frames / b:8.2f} frames/s")
    print(f"ratio rollout time / bare time = {r / b:.3f} (overhead {100 * (r / b - 1):+.1f}%)")


if __name__ == "__main__":
    main()
