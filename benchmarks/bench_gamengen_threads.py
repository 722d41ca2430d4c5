"""gamengen on 1 vs 2 threads: the tiny profile's train step, VAE encode and 1-step frame.

    uv run python benchmarks/bench_gamengen_threads.py [--seconds 10 --rounds 3]

Before issue 26 every gamengen stage ran on one thread (``cpu_budget()`` inside a stage read
the ``OMP_NUM_THREADS=1`` that ``for_stage`` sets for worker processes); now a stage uses the
idle cores. This times the work of the tiny run's stages with 1 and with 2 intra-op threads,
alternating in one process (so load changes hit both alike), and prints steps/s and the
ratio, with the load average before and after: the speed-up only means something on an idle
machine, so read the load first. Random weights (the cost is the same as trained ones).
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="1-thread / 2-thread alternations")
    args = ap.parse_args()
    from diffusers import DDPMScheduler

    from almost_gamengen.config import tiny
    from almost_gamengen.model.sampling import Sampler, SampleSettings, make_scheduler
    from almost_gamengen.model.vae import encode_frames, load_vae, shipped_vae_dir
    from almost_gamengen.model.world_model import build_world_model, noise_scheduler_config
    from almost_gamengen.stages.train import _loss

    cfg = tiny()
    vae = load_vae(shipped_vae_dir((48, 64))).eval()
    lc = vae.config.latent_channels
    model = build_world_model(cfg.model, 8, (12, 16), seed=0, latent_channels=lc)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sched = DDPMScheduler.from_config(noise_scheduler_config(1000))
    ddim = make_scheduler(noise_scheduler_config(1000))
    c, b = cfg.model.context, cfg.train.batch_size
    batch = {"context": torch.randn(b, c, lc, 12, 16), "target": torch.randn(b, lc, 12, 16),
             "actions": torch.randint(0, 8, (b, c)), "mask": torch.ones(b, c)}
    frames = torch.randint(0, 255, (32, 48, 64, 3), dtype=torch.uint8).numpy()
    g = torch.Generator().manual_seed(0)

    def train_step():
        loss = _loss(model, model, batch, sched, g, "cpu")
        opt.zero_grad()
        loss.backward()
        opt.step()

    def encode():
        encode_frames(vae, frames)

    def frame():
        z = Sampler(model, ddim, SampleSettings(steps=1)).next_latent(batch["context"][:1], batch["actions"][:1],
                                                                    batch["mask"][:1])
        vae.decode(z / vae.config.scaling_factor)

    def rate(fn, n: int) -> float:
        torch.set_num_threads(n)
        fn()
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds:
            fn()
            k += 1
        return k / (time.perf_counter() - t0)

    load0 = os.getloadavg()
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; cores {len(os.sched_getaffinity(0))}")
    for name, fn, unit in (("train step (batch 16)", train_step, "steps/s"), ("encode 32 frames", encode, "calls/s"),
                           ("1-step frame + decode", frame, "frames/s")):
        one, two = [], []
        for _ in range(args.rounds):
            one.append(rate(fn, 1))
            two.append(rate(fn, 2))
        r1, r2 = sum(one) / len(one), sum(two) / len(two)
        print(f"{name:24s} 1 thread {r1:7.2f} {unit}   2 threads {r2:7.2f} {unit}   ×{r2 / r1:.2f}")
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
