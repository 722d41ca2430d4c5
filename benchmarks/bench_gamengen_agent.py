"""gamengen agent study: does the PPO agent beat a random policy on the same held-out seeds?

Runs only the ``agent`` stage (ViZDoom ``basic``) once per setting of ``STUDY``, each in its
own run folder, and prints, from each run's ``metrics.json``: the policy's game return with
sampled actions (as ``collect`` plays) and with argmax actions, a uniform random policy's on
the same ``agent.eval_episodes`` evaluation seeds (a seed stream of their own), the gain in
standard errors (``agent.return_gain_sigma``; target: tiny > 0, small ≥ 2) and the seconds.

The settings are ``--set`` overrides on top of the profile (``--profile tiny|small``); the
first row is the profile itself. ``--seeds 0 1 2`` repeats every setting per run seed.

Run: ``uv run python benchmarks/bench_gamengen_agent.py [--profile tiny] [--seeds 0]
[--only NAME ...] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# setting name → --set overrides (on top of the profile)
STUDY = {
    "profile defaults": [],
    "old tiny: unscaled, lr 2.5e-4 × 2 epochs, 1k steps": [
        "agent.reward_scale=1.0", "agent.learning_rate=2.5e-4", "agent.n_epochs=2",
        "agent.total_steps=1024"],
    "no reward scale": ["agent.reward_scale=1.0"],
    "scaled, lr 2.5e-4 × 2 epochs": ["agent.learning_rate=2.5e-4", "agent.n_epochs=2"],
    "no shaping (the game's own reward, scaled)": ["agent.shaping=false"],
    "VecNormalize instead of the fixed scale": ["agent.reward_scale=1.0",
                                                "agent.normalize_reward=true"],
    "half the steps": ["agent.total_steps=8192"],
}


def run_agent(out: Path, profile: str, sets: list[str]) -> float:
    cmd = [str(Path(sys.executable).parent / "almost"), "run", "--plugin", "gamengen", "agent",
           "--profile", profile, "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1")))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="tiny", choices=["tiny", "small"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--only", nargs="+", default=None, help="run only these setting names")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs here (default: a temp dir)")
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-agent-"))
    names = [n for n in STUDY if args.only is None or n in args.only]
    target = 2.0 if args.profile == "small" else 0.0
    rows = []
    for name in names:
        for seed in args.seeds:
            out = root / f"{len(rows):02d}"
            if out.exists():
                shutil.rmtree(out)
            secs = run_agent(out, args.profile, [f"seed={seed}", *STUDY[name]])
            a = json.loads((out / "metrics.json").read_text())["agent"]
            rows.append((name, seed, a, secs))
            print(f"{name} (seed {seed}): {a['return_mean']:.1f} vs random {a['return_random']:.1f} "
                  f"({a['return_gain_sigma']:+.1f} σ), {secs:.0f} s", flush=True)
    print(f"\nprofile {args.profile}, {rows[0][2]['eval_episodes']:.0f} evaluation games per policy; "
          f"target: gain > {target:g} σ")
    print(f"{'setting':44s} {'seed':>4s} {'sampled':>14s} {'argmax':>7s} {'random':>14s} "
          f"{'gain σ':>7s} {'steps':>6s} {'s':>5s}  ok")
    for name, seed, a, secs in rows:
        print(f"{name[:44]:44s} {seed:4d} {a['return_mean']:7.1f} ± {a['return_std']:4.0f} "
              f"{a['return_argmax']:7.1f} {a['return_random']:7.1f} ± {a['return_random_std']:4.0f} "
              f"{a['return_gain_sigma']:+7.1f} {a['steps']:6.0f} {secs:5.0f}  "
              f"{'yes' if a['return_gain_sigma'] > target else 'no'}")
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
