"""The world model's two samplers side by side: ``gamengen-ddim`` (DDIM) and
``gamengen-dpmsolver`` (DPM-Solver++ 2M), on the same trained model, windows and seeds.

Run: ``uv run python benchmarks/bench_gamengen_sampler.py [--run RUN] [--train-steps 400]``
Without ``--run`` it makes a small run (synthetic episodes, the ``encode`` and ``train`` stages
on a 16-channel UNet, CPU minutes) in a temporary folder. For each sampler and step count it
generates the next frame of the same held-out windows teacher-forced (the rollout stage's
scoring, same seeds: batch ``a`` draws its noise from seed + 5 + a) and prints PSNR against the
recorded frames, PSNR against DDIM at ``--reference-steps`` steps (how close the solver gets
to the model's own ODE solution) and frames per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def make_run(run: Path, train_steps: int) -> None:
    """Synthetic episodes → latents → a world model trained for ``train_steps`` steps."""
    import attrs

    from almost import Pipeline
    from almost import config as cfgmod
    from almost.io import atomic_write
    from almost.runs import RunContext
    from almost_gamengen.config import tiny
    from almost_gamengen.data.synthetic import write_synthetic
    from almost_gamengen.stages import encode, train

    write_synthetic(run / "collect" / "episodes", episodes=10, length=24, height=40, width=40)
    cfg = tiny()
    cfg = attrs.evolve(
        cfg,
        env=attrs.evolve(cfg.env, height=40, width=40),
        encode=attrs.evolve(cfg.encode, vae_fit_steps=200, vae_fit_batch_size=8),
        model=attrs.evolve(cfg.model, context=2, block_out_channels=[16, 16], action_dim=16),
        train=attrs.evolve(cfg.train, steps=train_steps, batch_size=8, checkpoint_every=train_steps,
                           warmup_steps=10, heldout_fraction=0.3),
    )
    atomic_write(run / "config.toml", cfgmod.to_toml(cfg, {"pipeline": "gamengen", "profile": "tiny"}))
    pipe = Pipeline(name="gamengen", stages=[], profiles={})
    for stage in (encode, train):
        name = stage.__name__.rsplit(".", 1)[-1]
        stage.run(RunContext(pipeline=pipe, config=cfg, run_dir=run, profile="tiny", registry=None,
                             stage_name=name))


def load(run: Path, frames: int):
    """The run's model, scheduler config, codec and ``frames`` held-out windows with their
    recorded frames."""
    import numpy as np

    from almost.io import read_json
    from almost_gamengen.model.latents import LatentStore, WindowDataset
    from almost_gamengen.model.metrics import to_unit
    from almost_gamengen.model.vae import FrameCodec, load_vae
    from almost_gamengen.model.world_model import WorldModel

    store = LatentStore(run / "encode/latents", run)
    model = WorldModel.load(run / "train/model").eval()
    sched_cfg = read_json(run / "train/model/scheduler/scheduler_config.json", "scheduler config")
    codec = FrameCodec.for_store(load_vae(store.root / store.index["vae"]).eval(), store)
    pos_of = {e["id"]: i for i, e in enumerate(store.episodes)}
    held = [pos_of[i] for i in read_json(run / "train/split.json", "episode split")["heldout"]]
    data = WindowDataset(store, model.context, held)
    picks = np.sort(np.random.default_rng(11).choice(len(data), size=min(frames, len(data)), replace=False))
    windows = [data[int(i)] for i in picks]
    real = to_unit(np.stack([store.pixels(int(w["episode"]))[int(w["t"])] for w in windows]))
    return model, sched_cfg, codec, windows, real


def next_frames(sampler, codec, windows) -> tuple[torch.Tensor, float]:
    """Every window's next frame (batches of 16, the rollout stage's seeds) and the seconds."""
    out, secs = [], 0.0
    for a in range(0, len(windows), 16):
        batch = torch.utils.data.default_collate(windows[a:a + 16])
        g = torch.Generator().manual_seed(5 + a)
        t0 = time.perf_counter()
        z = sampler.next_latent(batch["context"], batch["actions"], batch["mask"], g)
        secs += time.perf_counter() - t0
        out.append(codec.decode(z))
    return torch.cat(out), secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="a finished gamengen run (train stage done); default: make one")
    ap.add_argument("--train-steps", type=int, default=400, help="training steps of the run it makes")
    ap.add_argument("--frames", type=int, default=64, help="held-out windows scored")
    ap.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 10], help="sampling steps compared")
    ap.add_argument("--reference-steps", type=int, default=50, help="DDIM steps of the reference")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            run = Path(tmp) / "run"
            t0 = time.perf_counter()
            make_run(run, args.train_steps)
            print(f"made a run in {time.perf_counter() - t0:.0f} s ({args.train_steps} training steps)")
        report(run, args)


def report(run: Path, args) -> None:
    from almost_gamengen.model.metrics import psnr
    from almost_gamengen.model.sampling import SampleSettings, ddim, dpmsolver

    torch.manual_seed(0)
    model, sched_cfg, codec, windows, real = load(run, args.frames)
    ref, _ = next_frames(ddim(model, sched_cfg, SampleSettings(steps=args.reference_steps)), codec, windows)
    print(f"{len(windows)} held-out windows; reference: DDIM {args.reference_steps} steps, "
          f"PSNR {float(psnr(ref, real).mean()):.2f} dB")
    print(f"{'sampler':<20}{'steps':>6}{'PSNR dB':>10}{'dB to ref':>11}{'frames/s':>10}")
    for name, make in (("gamengen-ddim", ddim), ("gamengen-dpmsolver", dpmsolver)):
        for steps in args.steps:
            frames, secs = next_frames(make(model, sched_cfg, SampleSettings(steps=steps)), codec, windows)
            print(f"{name:<20}{steps:>6}{float(psnr(frames, real).mean()):>10.2f}"
                  f"{float(psnr(frames, ref).mean()):>11.2f}{len(windows) / secs:>10.1f}")


if __name__ == "__main__":
    main()
