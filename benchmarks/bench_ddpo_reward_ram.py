"""Peak RAM of the ddpo ``reward`` stage on a CPU with SD 1.5-size images, before and after.

    uv run python benchmarks/bench_ddpo_reward_ram.py [--images 32] [--before-images 2,4,8]

Builds an SD 1.5-shaped model from its configs (random weights: memory and time do not depend
on them; nothing is downloaded), writes ``--images`` 512×512 PNGs, and measures each variant in
its own process (peak resident memory from ``getrusage``, wall time):

* **before** — what the stage did until issue 17: the whole pipeline (UNet, text encoder, VAE)
  in float32 in memory, every image as a float tensor, VAE-encoded 32 at a time.
* **after** — the real ``reward`` stage of today (``almost_ddpo.stages.reward.run``) on a run
  whose ratings store labels the same images: only the VAE is loaded, images are read one
  batch at a time, and on a CPU the VAE encodes one image at a time.

A 32-image "before" batch needs ~20 GB more than most machines have free, so by default
"before" is measured with the models alone (0 images) and with 8 images, and its peak
extrapolated linearly to
``--images`` (printed as such); pass ``--before-images 32`` on a machine with the memory to
measure it directly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALMOST_NO_PROGRESS", "1")

SD15_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, sample_size=512, layers_per_block=2,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32, scaling_factor=0.18215,
)
SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8,
)
SD15_TEXT = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, max_position_embeddings=77, projection_dim=768)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def child_before(work: Path, n: int) -> dict:
    """The pre-issue-17 reward stage's memory-relevant path (stages/reward.py at 8df2c5f)."""
    import numpy as np
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from PIL import Image
    from transformers import CLIPTextConfig, CLIPTextModel

    t0 = time.perf_counter()
    vae = AutoencoderKL.from_pretrained(work / "model" / "vae")
    unet = UNet2DConditionModel(**SD15_UNET)  # load_pipeline loaded all of these, in float32
    text = CLIPTextModel(CLIPTextConfig(**SD15_TEXT))
    files = sorted((work / "images").glob("*.png"))[:n]
    if not files:  # the models alone: the intercept of the per-image line
        return {"peak_mb": peak_mb(), "seconds": time.perf_counter() - t0, "images": 0}
    with torch.no_grad():
        imgs = torch.stack([torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1)
                            for f in files]).float() / 255
        lat = torch.cat([vae.encode(imgs[i:i + 32] * 2 - 1).latent_dist.mean * 0.18215
                         for i in range(0, len(imgs), 32)]).float()
    assert lat.shape == (n, 4, 64, 64) and unet is not None and text is not None
    return {"peak_mb": peak_mb(), "seconds": time.perf_counter() - t0, "images": n}


def child_after(work: Path, n: int) -> dict:
    """Today's reward stage, run for real on a run directory whose store labels ``n`` images."""
    import attrs

    from almost.registry import Registry
    from almost.runs import Pipeline, RunContext
    from almost_ddpo.config import tiny
    from almost_ddpo.plugin import register_components as register
    from almost_ddpo.scores import RatingView, run_log
    from almost_ddpo.stages import reward

    run = work / f"run-after-{n}"
    images = run / "round-001" / "generate" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for f in sorted((work / "images").glob("*.png"))[:n]:
        dst = images / f.name
        if not dst.exists():
            os.link(f, dst)
    view = RatingView(run_log(run), images, run)
    if not view.scores():
        for i, name in enumerate(sorted(view.key_of)):
            view.append({"kind": "score", "image": name, "score": i % 11 - 5, "annotator": "bench"})
    cfg = tiny()
    cfg = attrs.evolve(cfg, model=attrs.evolve(cfg.model, path=str(work / "model")),
                       reward_model=attrs.evolve(cfg.reward_model, epochs=3, patience=3, batch_size=16, pool=8))
    reg = Registry()
    register(reg)
    ctx = RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=cfg, run_dir=run,
                     profile="tiny", registry=reg, stage_name="reward")
    t0 = time.perf_counter()
    reward.run(ctx)
    return {"peak_mb": peak_mb(), "seconds": time.perf_counter() - t0, "images": n}


def child_baseline(work: Path, n: int) -> dict:
    import diffusers  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import almost_ddpo.stages.reward  # noqa: F401

    return {"peak_mb": peak_mb(), "seconds": 0.0, "images": 0}


def prepare(work: Path, n: int) -> None:
    import numpy as np
    import torch
    from diffusers import AutoencoderKL
    from PIL import Image

    if not (work / "model" / "vae" / "config.json").is_file():
        torch.manual_seed(0)
        AutoencoderKL(**SD15_VAE).save_pretrained(work / "model" / "vae")
    (work / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        f = work / "images" / f"{100000 + i}.png"
        if f.exists():
            continue
        # smooth colour fields with some noise: PNGs of a realistic size, not flat or white noise
        base = rng.integers(0, 255, (8, 8, 3)).astype(np.uint8)
        img = np.asarray(Image.fromarray(base).resize((512, 512), Image.BICUBIC), dtype=np.int16)
        img = np.clip(img + rng.integers(-12, 12, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(f)


def run_child(kind: str, work: Path, n: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--work", str(work), "--images", str(n)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{kind} with {n} images failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--before-images", default="0,8", help="image counts at which 'before' is measured")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = {"before": child_before, "after": child_after, "baseline": child_baseline}[args.child]
        print(json.dumps(fn(Path(args.work), args.images)))
        return 0

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        prepare(work, args.images)
        print(f"SD 1.5-shaped VAE, {args.images} images of 512×512, CPU, torch threads {torch.get_num_threads()}")
        base = run_child("baseline", work, 0)
        print(f"imports only: peak {base['peak_mb']:.0f} MB")
        counts = [int(c) for c in args.before_images.split(",") if c]
        before = [run_child("before", work, n) for n in counts]
        for b in before:
            print(f"before, {b['images']:>3} images: peak {b['peak_mb']:8.0f} MB   {b['seconds']:6.1f} s")
        if any(b["images"] == args.images for b in before):
            b32 = next(b["peak_mb"] for b in before if b["images"] == args.images)
            label = "measured"
        else:
            import numpy as np

            xs = np.array([b["images"] for b in before], float)
            ys = np.array([b["peak_mb"] for b in before], float)
            slope, icept = np.polyfit(xs, ys, 1)
            b32 = slope * args.images + icept
            label = f"extrapolated: {icept:.0f} MB + {slope:.0f} MB per image"
        after = run_child("after", work, args.images)
        print(f"after,  {after['images']:>3} images: peak {after['peak_mb']:8.0f} MB   {after['seconds']:6.1f} s "
              "(the whole reward stage: encode + training)")
        print(f"before, {args.images:>3} images: peak {b32:8.0f} MB ({label})")
        print(f"ratio before/after at {args.images} images: {b32 / after['peak_mb']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
