"""ddpo: the policy stage's two trainers side by side — DDPO (on the reward CNN) vs D3PO (on the rated pairs).

One run of the tiny profile up to the reward stage (pretrain, generate, the scripted rater's
scores, the reward CNN), copied twice; each copy runs the ``policy`` stage with one trainer,
on the same seeds (the same LoRA init, training prompts and evaluation prompts and seeds).
Printed per trainer: the stage's wall time, the reward CNN's mean on the evaluation images
before → after, and the scripted rater's (``score.rater``, the preference the labels came
from) before → after, which is the fair yardstick: D3PO never sees the CNN.

    uv run python benchmarks/bench_ddpo_d3po.py [--quick] [--epochs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

QUICK = ["pretrain.vae_steps=100", "pretrain.unet_steps=300", "pretrain.dataset_size=1024",
         "generate.images_per_prompt=4", "reward_model.epochs=30"]


def main() -> int:
    import almost

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a shorter pretrain and fewer images (a smoke test)")
    ap.add_argument("--epochs", type=int, default=0, help="policy epochs (0: the tiny profile's)")
    ap.add_argument("--trainers", default="ddpo,ddpo-d3po", help="comma-separated trainer names")
    ap.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    args = ap.parse_args()
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-d3po-"))
    sets = QUICK if args.quick else []
    base = root / "base"  # kept with --out: a second call reuses it (its stages are done)
    t0 = time.perf_counter()
    almost.run("ddpo", ["pretrain", "generate", "score", "reward"], sets=sets, out=base, quiet=True)
    sets = [*sets, *([f"policy.epochs={args.epochs}"] if args.epochs else [])]
    print(f"shared stages (pretrain, generate, score, reward): {time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for name in args.trainers.split(","):
        run = root / name
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(base, run)
        t0 = time.perf_counter()
        m = almost.run("ddpo", ["policy"], sets=[*sets, f"policy.trainer={name}"], out=run, force=True,
                       quiet=True)["policy"]
        rows.append((name, time.perf_counter() - t0, m))
    print(f"\n{'trainer':<11} {'policy s':>9}  {'reward CNN before → after':>27}  {'scripted rater before → after':>31}")
    for name, secs, m in rows:
        cnn = f"{m['reward_before']:.4f} → {m['reward_after']:.4f}"
        rater = (f"{m['rater_before']:.4f} → {m['rater_after']:.4f} ({m['rater_after'] - m['rater_before']:+.4f})"
                 if "rater_before" in m else "n/a")
        print(f"{name:<11} {secs:>9.1f}  {cnn:>27}  {rater:>31}")
    print(f"\nruns in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
