"""Window loader throughput: gamengen's memory-mapped ``WindowDataset`` side by side with
(a) a plain in-memory copy of the same bytes (the floor) and (b) loading the episode's
safetensors file for every sample (what a naive loader does).

Run: ``uv run python benchmarks/bench_windows.py [--episodes 40 --length 200 --context 16]``
Latents are SD-sized (4×32×40, float16) unless ``--small``. Prints samples/s and ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from almost.train.checkpoint import load_safetensors, save_safetensors
from almost_gamengen.model.latents import (
    LatentStore,
    WindowDataset,
    shard_name,
    write_index,
    write_shard,
)


def build(root: Path, episodes: int, length: int, shape, shard_episodes: int = 10):
    g = torch.Generator().manual_seed(0)
    eps, shards = [], []
    for k in range(0, episodes, shard_episodes):
        members = range(k, min(k + shard_episodes, episodes))
        lat = torch.randn(len(members) * length, *shape, generator=g).half()
        write_shard(root / shard_name(k // shard_episodes), lat, np.zeros(len(lat), np.int64))
        for j, e in enumerate(members):
            eps.append({"id": f"b:{e}", "source": "b", "episode_id": e, "shard": k // shard_episodes,
                        "start": j * length, "length": length})
            save_safetensors({"latents": lat[j * length:(j + 1) * length],
                              "actions": torch.zeros(length, dtype=torch.int64)}, root / f"episode-{e}.safetensors")
        shards.append({"file": shard_name(k // shard_episodes), "frames": len(lat)})
    write_index(root, latent_shape=shape, dtype="float16", scaling_factor=1.0, action_names=["a"],
                noop_action=0, frame_shape=(8, 8, 3), shards=shards, episodes=eps)


def rate(fn, indices) -> float:
    t0 = time.perf_counter()
    for i in indices:
        fn(int(i))
    return len(indices) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=40)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--context", type=int, default=16)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--small", action="store_true", help="4×12×16 latents (the tiny profile)")
    args = ap.parse_args()
    shape = (4, 12, 16) if args.small else (4, 32, 40)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.episodes, args.length, shape)
        store = LatentStore(root)
        ds = WindowDataset(store, args.context)
        idx = np.random.default_rng(0).integers(0, len(ds), args.samples)
        c = args.context
        # the same bytes, already in RAM: copy the context + target rows of one episode
        ram = [np.array(store.latents(p)) for p in range(len(store))]

        def plain(i):
            p, t = ds.locate(i)
            lo = max(0, t - c)
            out = np.empty((c + 1, *shape), np.float32)
            out[: t - lo + 1] = ram[p][lo:t + 1]
            return out

        def per_file(i):
            p, t = ds.locate(i)
            lat = load_safetensors(root / f"episode-{p}.safetensors")["latents"]
            lo = max(0, t - c)
            return lat[lo:t + 1].float()

        for fn in (ds.__getitem__, plain, per_file):  # warm the page cache and code paths
            rate(fn, idx[:50])
        r_ds = rate(ds.__getitem__, idx)
        r_plain = rate(plain, idx)
        r_file = rate(per_file, idx[: max(args.samples // 4, 50)])
    mb = (c + 1) * np.prod(shape) * 2 / 1e6
    print(f"windows: context {c}, latents {shape} float16 ({mb:.2f} MB per window), "
          f"{args.episodes} episodes × {args.length} frames")
    print(f"  WindowDataset (memory map)     {r_ds:10.0f} samples/s")
    print(f"  plain copy of the same bytes   {r_plain:10.0f} samples/s")
    print(f"  load episode file per sample   {r_file:10.0f} samples/s")
    print(f"ratio WindowDataset / plain copy      = {r_ds / r_plain:.2f}")
    print(f"ratio WindowDataset / file per sample = {r_ds / r_file:.1f}×")


if __name__ == "__main__":
    main()
