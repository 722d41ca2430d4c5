"""Benchmark of the ddpo tiny pipeline, measured side by side in one run.

    uv run python benchmarks/bench_ddpo.py [--model runs/ddpo/tiny/round-001/pretrain/model]

Prints the time of DDIM sampling with per-step log-probabilities (what DDPO needs) against
diffusers' plain ``DDIMScheduler.step`` loop on the same UNet, prompts and seeds (target: under
10 % extra), and the time of one DDPO epoch (sampling + clipped-PPO training) with the tiny
profile's settings. Without ``--model`` an untrained tiny model of the same shape is built
(timings do not depend on the weights).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALMOST_NO_PROGRESS", "1")


def main() -> int:
    import attrs
    import torch

    from almost.io import read_json
    from almost.registry import Registry
    from almost.runs import Pipeline, RunContext
    from almost_ddpo.config import tiny
    from almost_ddpo.ddim import sample
    from almost_ddpo.encoding import encode_prompts, latent_size
    from almost_ddpo.loaders import build_tiny, load_pipeline, save_pipeline
    from almost_ddpo.plugin import register_components
    from almost_ddpo.shapes import all_prompts, vocabulary

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a tiny (or any SD-layout) model folder; default: build an untrained tiny one")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ddpo-"))
    model = Path(args.model) if args.model else save_pipeline(tmp / "model", *build_tiny(vocabulary()))
    pipe = load_pipeline(model)
    cfg = tiny()
    pc = cfg.policy
    from almost_ddpo.stages.policy import sampler_settings

    steps, guidance = sampler_settings(cfg)  # the policy samples with generate's settings unless split
    prompts = (all_prompts() * 4)[: pc.sample_batch_size]
    cond, uncond = encode_prompts(pipe, prompts), encode_prompts(pipe, [""] * len(prompts))
    h, w = latent_size(pipe)

    def once(with_logprob: bool) -> float:
        gens = [torch.Generator().manual_seed(i) for i in range(len(prompts))]
        t0 = time.perf_counter()
        sample(pipe.unet, pipe.scheduler, cond, uncond, (4, h, w), steps=steps, guidance=guidance, eta=pc.eta,
               generators=gens, with_logprob=with_logprob)
        return time.perf_counter() - t0

    once(True), once(False)  # warm-up
    plain, logp = [], []
    for r in range(args.repeats):  # interleaved ABBA, so load changes hit both alike
        for with_logprob in ((False, True) if r % 2 == 0 else (True, False)):
            (logp if with_logprob else plain).append(once(with_logprob))
    # the fastest of the repeats: on a shared machine the slow ones measure the neighbours
    p, q = min(plain), min(logp)
    print(f"sampling {len(prompts)} images × {steps} DDIM steps (guidance {guidance}, eta {pc.eta}), "
          f"best of {args.repeats} (medians {statistics.median(plain) * 1000:.0f} / "
          f"{statistics.median(logp) * 1000:.0f} ms):")
    print(f"  plain diffusers DDIM      {p * 1000:8.1f} ms")
    print(f"  DDIM with log-probs       {q * 1000:8.1f} ms")
    print(f"  log-prob overhead         {100 * (q / p - 1):+8.1f} %   (target < 10 %)")

    # one DDPO epoch with the tiny profile's settings (shape-area reward: no trained CNN needed)
    run_cfg = attrs.evolve(cfg, reward="shape-area", model=attrs.evolve(cfg.model, path=str(model)),
                           policy=attrs.evolve(pc, epochs=2, eval_images_per_prompt=1, checkpoint_every=100))
    reg = Registry()
    register_components(reg)  # the rewards (shape-area among them) and the trainers the policy stage builds
    ctx = RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=run_cfg,
                     run_dir=tmp / "run", profile="tiny", registry=reg, stage_name="policy")
    from almost_ddpo.stages import policy

    policy.run(ctx)
    hist = read_json(tmp / "run" / "round-001" / "policy" / "history.json")
    e = hist[-1]  # the second epoch: no first-call warm-up inside
    print(f"one DDPO epoch ({pc.samples_per_epoch} samples, {steps} steps, train batch {pc.train_batch_size}, "
          f"{pc.inner_epochs} inner epoch): {e['sample_s'] + e['train_s']:.2f} s "
          f"= sampling {e['sample_s']:.2f} s + training {e['train_s']:.2f} s "
          f"(training / sampling = {e['train_s'] / e['sample_s']:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
