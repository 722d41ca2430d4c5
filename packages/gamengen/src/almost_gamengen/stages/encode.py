"""Stage ``encode``: recorded frames → VAE latents, written once as safetensors shards.

Reads every episode folder of the run (``agent/episodes``, ``collect/episodes``) and writes
``encode/latents/`` (see :mod:`almost_gamengen.model.latents` for the layout), so training never
touches pixels. The VAE is SD 1.x's (``model.pretrained``) or, when that is empty,
``encode.vae``: ``shipped`` copies the pretrained tiny VAE of the package
(:func:`almost_gamengen.model.vae.shipped_vae_dir`, 48×64 frames) into ``encode/vae/`` and only
encodes with it, as GameNGen does with SD's (the ``decoder`` stage fine-tunes its decoder);
for a frame size with no shipped VAE, and with ``fit``, a small ``AutoencoderKL`` built from
``encode.vae_*`` is fitted here on the frames first (saved in diffusers layout as
``encode/vae/``); any other value is a diffusers VAE folder, copied the same way. Shards are split across processes (``accelerate
launch``: process i encodes shards i, i+n, …); a shard already on disk is skipped, so an
interrupted run resumes, and the index is written last.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from almost.errors import UserError
from almost.io import atomic_dir

from ..model.latents import INDEX, plan_shards, shard_name, write_index, write_shard


def run(ctx) -> None:
    import torch

    from almost.observe.console import console

    from ..data.episodes import EpisodeStore, find_episode_dirs
    from ..model.vae import (
        build_tiny_vae,
        encode_frames,
        latent_factor,
        load_sd_vae,
        load_vae,
        pad_frames,
        padded_size,
    )

    cfg, ecfg = ctx.config, ctx.config.encode
    out = ctx.stage_dir()
    latent_dir = out / "latents"
    dirs = find_episode_dirs(ctx.run_dir)
    if not dirs:
        raise UserError(f"no recorded episodes in {ctx.run_dir}; run the agent or collect stage first")
    stores = [EpisodeStore(d) for d in dirs]
    first = stores[0]
    for s in stores[1:]:
        if s.action_names != first.action_names or s.frame_shape != first.frame_shape:
            raise UserError(f"episodes in {s.root} and {first.root} come from different games "
                            "(actions or frame shape differ); keep one game per run")
    episodes = [(si, eid, n) for si, s in enumerate(stores) for eid, n in _episode_lengths(s)]
    from almost.train.threads import cpu_budget, set_threads

    acc = ctx.accelerator()
    if acc.device.type == "cpu":  # a GPU stage leaves the CPU threads alone
        set_threads(cpu_budget())
    t0 = time.time()
    size = padded_size(first.frame_shape, cfg.env)

    # -- the VAE ----------------------------------------------------------------------------
    vae_dir = out / "vae"
    fit_metrics: dict[str, float] = {}
    source = _vae_source(ecfg.vae, size) if not cfg.model.pretrained else None
    if cfg.model.pretrained:
        vae = load_sd_vae(cfg.model.pretrained)
    elif (vae_dir / "config.json").is_file():
        vae = load_vae(vae_dir)
        console.print(f"encode: reusing the VAE in {vae_dir}")
    elif source is not None:  # pretrained: copied into the run, so the run stands on its own
        if acc.is_main_process:
            import shutil

            with atomic_dir(vae_dir) as tmp:
                for f in ("config.json", "diffusion_pytorch_model.safetensors"):
                    shutil.copy2(source / f, tmp / f)
        acc.wait_for_everyone()
        vae = load_vae(vae_dir)
        console.print(f"encode: pretrained VAE {source} (no fitting)")
        fit_metrics = {"vae_pretrained": 1.0}
    else:
        if ecfg.vae == "shipped":
            console.print(f"encode: no VAE ships for {size[0]}×{size[1]} frames; fitting one here "
                          "(encode.vae_fit_steps)")
        if acc.is_main_process:
            torch.manual_seed(cfg.seed)
            vae = build_tiny_vae(ecfg.vae_block_out_channels, size)
            fit_metrics = _fit_vae(vae, stores, episodes, ecfg, acc.device, cfg.seed, size)
            with atomic_dir(vae_dir) as tmp:
                vae.save_pretrained(tmp, safe_serialization=True)
        acc.wait_for_everyone()
        vae = load_vae(vae_dir)
    vae = vae.to(acc.device).eval().requires_grad_(False)

    # -- shards: process i encodes shards i, i+n, ... ---------------------------------------
    plan = plan_shards([n for _, _, n in episodes], ecfg.shard_frames)
    dtype = getattr(torch, ecfg.dtype)
    mine = list(range(acc.process_index, len(plan), acc.num_processes))
    from almost.observe.console import progress

    from ..cpu_share import ThreadRetune

    retune = ThreadRetune(enabled=acc.device.type == "cpu")  # threads follow the idle cores as it runs
    with progress() as bar:
        task = bar.add_task("encode frames", total=sum(episodes[i][2] for k in mine for i in plan[k]), info="")
        for k in mine:
            path = latent_dir / shard_name(k)
            n_frames = sum(episodes[i][2] for i in plan[k])
            if path.is_file():
                bar.advance(task, n_frames)
                continue
            lats, acts = [], []
            for i in plan[k]:
                si, eid, _ = episodes[i]
                ep = stores[si].load(eid)
                for a in range(0, len(ep), ecfg.batch_size):
                    lats.append(encode_frames(vae, pad_frames(ep.frames[a:a + ecfg.batch_size], size), acc.device))
                    bar.advance(task, min(ecfg.batch_size, len(ep) - a))
                    retune()
                acts.append(ep.actions)
            write_shard(path, torch.cat(lats).to(dtype), np.concatenate(acts))
    acc.wait_for_everyone()

    # -- the index (main process, once every shard is there) --------------------------------
    if acc.is_main_process:
        shards, index_eps = [], []
        for k, members in enumerate(plan):
            start = 0
            for i in members:
                si, eid, n = episodes[i]
                source = stores[si].root.parent.name
                index_eps.append({"id": f"{source}:{eid}", "source": source, "episode_id": int(eid),
                                  "shard": k, "start": start, "length": int(n)})
                start += n
            shards.append({"file": shard_name(k), "frames": start})
        h, w = size
        f = latent_factor(vae)
        if h % f or w % f:
            raise UserError(f"frames of {h}×{w} pixels do not divide into the VAE's {f}×{f} latent "
                            "cells; set env.pad_height/env.pad_width to multiples of it")
        write_index(latent_dir, latent_shape=(vae.config.latent_channels, h // f, w // f),
                    dtype=ecfg.dtype, scaling_factor=vae.config.scaling_factor,
                    action_names=first.action_names, noop_action=first.noop_action,
                    frame_shape=first.frame_shape, padded_size=list(size), shards=shards, episodes=index_eps,
                    vae="../vae" if not cfg.model.pretrained else str(Path(cfg.model.pretrained).resolve() / "vae"))
        total = sum(n for _, _, n in episodes)
        secs = time.time() - t0
        ctx.log_metrics(frames=total, episodes=len(episodes), shards=len(plan),
                        latent_h=h // f, latent_w=w // f, seconds=round(secs, 2),
                        frames_per_s=total / max(secs, 1e-9), **fit_metrics)
        ctx.add_artifact(latent_dir / INDEX, "latent index")
        console.print(f"encode: {total} frames of {len(episodes)} episodes → {len(plan)} shards in {latent_dir}")


def _vae_source(choice: str, size) -> Path | None:
    """The folder of a pretrained VAE to copy for ``encode.vae``, or None to fit one."""
    from ..model.vae import shipped_vae_dir

    if choice == "fit":
        return None
    if choice == "shipped":
        return shipped_vae_dir(size)
    p = Path(choice).expanduser()
    if not (p / "config.json").is_file() or not (p / "diffusion_pytorch_model.safetensors").is_file():
        raise UserError(f"encode.vae {choice!r} is not 'shipped', 'fit' or a diffusers VAE folder "
                        "(config.json + diffusion_pytorch_model.safetensors)")
    return p


def _episode_lengths(store) -> list[tuple[int, int]]:
    """(episode id, frames) for every episode, from the shards' id column only."""
    from ..data.episodes import _read_table  # a corrupt shard: one sentence naming the file

    counts: dict[int, int] = {}
    for s in store.manifest["shards"]:
        ids = _read_table(store.root / s["file"], columns=["episode_id"]).column("episode_id").to_numpy()
        u, c = np.unique(ids, return_counts=True)
        counts.update({int(a): int(b) for a, b in zip(u, c)})
    return [(eid, counts[eid]) for eid in store.episode_ids()]


def _fit_vae(vae, stores, episodes, ecfg, device, seed: int, size) -> dict[str, float]:
    """Fit the from-scratch VAE (MSE of the decoded posterior mean + a small KL) on up to 20k
    frames; then set its scaling_factor to 1 / std of the latents."""
    import torch

    from almost.observe.console import progress

    from ..model.metrics import psnr
    from ..model.vae import frames_to_input, output_to_unit, pad_frames

    frames, budget = [], 20_000
    for si, eid, n in episodes:
        if budget <= 0:
            break
        frames.append(stores[si].load(eid).frames[:budget])
        budget -= n
    frames = pad_frames(np.concatenate(frames), size)
    vae.to(device).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=ecfg.vae_fit_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, ecfg.vae_fit_lr, total_steps=max(ecfg.vae_fit_steps, 1),
                                                pct_start=0.1)
    rng = np.random.default_rng(seed)
    with progress() as bar:
        task = bar.add_task("fit VAE", total=ecfg.vae_fit_steps, info="")
        for step in range(1, ecfg.vae_fit_steps + 1):
            x = frames_to_input(frames[rng.integers(0, len(frames), ecfg.vae_fit_batch_size)]).to(device)
            post = vae.encode(x).latent_dist
            rec = vae.decode(post.mean).sample  # the mean is what gets encoded; sampling slows the fit
            loss = torch.nn.functional.mse_loss(rec, x) + ecfg.vae_kl_weight * post.kl().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if step % 25 == 0 or step == ecfg.vae_fit_steps:  # a GPU waits here: not every step
                lv = loss.item()
                if not np.isfinite(lv):
                    from almost.errors import NonFiniteError

                    raise NonFiniteError(
                        f"encode: the VAE fit loss became {lv} at step {step}; lower "
                        "encode.vae_fit_lr or check the frames, then re-run with --force encode",
                        stage="encode", step=step, value=lv)
                bar.update(task, info=f"loss {lv:.4f}")
            bar.update(task, advance=1)
    vae.eval()
    with torch.no_grad():
        sample = frames[rng.integers(0, len(frames), min(256, len(frames)))]
        x = frames_to_input(sample).to(device)
        mean = vae.encode(x).latent_dist.mean
        rec = output_to_unit(vae.decode(mean).sample).cpu()
        std = float(mean.float().std())
    vae.register_to_config(scaling_factor=1.0 / max(std, 1e-6))
    target = output_to_unit(frames_to_input(sample))
    return {"vae_psnr_db": float(psnr(rec, target).mean()), "vae_latent_std": std}
