"""irgen ``refine`` with each trainer from the same SFT adapter: RLOO (the default) against GRPO.

    uv run python benchmarks/bench_irgen_refine.py [--model smollm2|PATH] [--count 300] [--sft-steps 60]
                                                   [--steps 6] [--eval 16] [--trainers irgen-rloo,irgen-grpo]

One run directory is synthesised, prepared and SFT-trained once (the ``tiny`` profile, with
``synth.count`` = ``--count`` and ``train.max_steps`` = ``--sft-steps``: a small budget); then
for each trainer a copy of it runs ``refine`` alone (``refine.trainer=NAME``, the same seeds,
the same specs per step, ``--steps`` steps, ``--eval`` held-out specs), and the table shows side
by side: the mean reward of the first and last steps, compile@1 and behaviour@1 of the greedy
programs on the refine eval set before (the SFT adapter) and after, and the seconds of the policy
steps and of the whole stage. ``--keep DIR`` keeps the runs. Each ``almost run`` is a subprocess
(its own progress on the terminal). ``--trainers irgen-grpo --keep DIR`` on a kept folder reuses
its SFT adapter. Cost on the shared 2-core CPU at load ~7 with ``--count 120 --sft-steps 30
--steps 4 --eval 8``: SFT ~15 min, each refine ~14 min (generation dominates).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALMOST = [sys.executable, "-c", "import sys; from almost.cli import main; sys.exit(main())"]


def almost_run(run: Path, stages: list[str], sets: list[str], force: bool = False) -> float:
    """``almost run --plugin irgen STAGES --out RUN --set ...``: its wall seconds (a failure stops here)."""
    cmd = [*ALMOST, "run", "--plugin", "irgen", *stages, "--out", str(run), *(["--force"] if force else []),
           *[x for s in sets for x in ("--set", s)]]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, check=False)
    if done.returncode:
        sys.exit(f"`{' '.join(cmd[3:])}` failed with exit code {done.returncode}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2", help="model.base: 'smollm2' or a local transformers folder")
    ap.add_argument("--count", type=int, default=300, help="synth.count: specs synthesised")
    ap.add_argument("--sft-steps", type=int, default=60, help="train.max_steps of the shared SFT adapter")
    ap.add_argument("--steps", type=int, default=6, help="refine.steps per trainer")
    ap.add_argument("--eval", type=int, default=16, help="refine.eval_examples: held-out specs scored before/after")
    ap.add_argument("--trainers", default="irgen-rloo,irgen-grpo", help="comma-separated refine.trainer names")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="extra --set for every refine run")
    ap.add_argument("--keep", default="", help="keep the runs in this folder (default: a temporary one)")
    args = ap.parse_args()

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="almost-bench-refine-"))
    base = root / "sft"
    common = [f"model.base={args.model}", f"synth.count={args.count}", f"train.max_steps={args.sft_steps}"]
    sft_s = almost_run(base, ["synth", "prepare", "train"], common) if not (base / "train" / "adapter").is_dir() \
        else 0.0
    refine = [*common, f"refine.steps={args.steps}", f"refine.eval_examples={args.eval}", *args.sets]
    rows = {}
    for name in [t.strip() for t in args.trainers.split(",") if t.strip()]:
        run = root / name
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(base, run, ignore=shutil.ignore_patterns("refine", "evaluate", "export"))
        wall = almost_run(run, ["refine"], [*refine, f"refine.trainer={name}"], force=True)
        m = json.loads((run / "metrics.json").read_text())["refine"]
        rows[name] = {**m, "wall_s": wall}
    show(rows, args, sft_s, root)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def show(rows: dict, args, sft_s: float, root: Path) -> None:
    cols = [("reward first", "reward_first"), ("reward last", "reward_last"), ("compile@1 SFT", "compile_at_1_sft"),
            ("compile@1", "compile_at_1"), ("behaviour@1 SFT", "behaviour_at_1_sft"),
            ("behaviour@1", "behaviour_at_1"), ("steps s", "refine_s"), ("stage s", "wall_s")]
    print(f"\nirgen refine, {args.model}: {args.count} specs, SFT {args.sft_steps} steps ({sft_s:.0f} s), "
          f"{args.steps} refine steps, {args.eval} eval specs" + (f"; runs in {root}" if args.keep else ""))
    print("| trainer | " + " | ".join(c for c, _ in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, m in rows.items():
        cells = [f"{m[k]:.3f}" if k in m and not k.endswith("_s") else f"{m[k]:.0f}" if k in m else "-"
                 for _, k in cols]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
