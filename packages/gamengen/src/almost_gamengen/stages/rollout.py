"""Stage ``rollout``: score the world model on held-out episodes and write GIFs.

Teacher-forced next frame: for ``rollout.eval_frames`` windows drawn uniformly from the
held-out episodes (``train/split.json``), each model generates frame t from the real context
(DDIM with the run's :class:`~almost_gamengen.model.sampling.SampleSettings`:
``rollout.ddim_steps`` steps, ``rollout.context_noise``, ``rollout.guidance_scale``,
``rollout.action_guidance``); the decoded frame is scored against the recorded pixels with PSNR
and SSIM (LPIPS where its weights are on disk, else reported as skipped). Models: the trained one, the *untrained* one
(the same architecture at its initialisation, same seed) and the baseline that copies the
last frame **through the same decoder** (``copy_vae``: decode the last context latent; the
like-for-like baseline, since the model's frames go through the VAE too). Copying the raw
last frame (``copy_raw``) and the VAE ceiling (decoding the true latent) are reported too.
Where the episodes carry the game's object boxes (ViZDoom's labels: the ``objects`` column),
PSNR inside them is reported for each (``psnr_db_objects`` for the trained model,
``psnr_db_objects_copy_vae``, ``psnr_db_objects_vae_ceiling``, ...): whole-frame PSNR barely
notices a monster of a few pixels going missing, this does. ``sharpness_<name>`` is the
high-frequency energy of those frames ÷ the real ones' (1: as sharp as the game; one DDIM step,
the model's mean prediction, scores low: PSNR rewards blur).

Action sensitivity (:mod:`almost_gamengen.model.probe`): from ``rollout.probe_states`` fresh game
states, every action played constantly for ``rollout.probe_horizon`` steps in the model and in
the real game; ``action_sensitivity`` = model-branch divergence ÷ real-branch divergence (a
copier scores 0, the game itself 1) and ``action_nearest_rate``.

Everything runs on the accelerator's device (``run(ctx, device=...)`` takes an explicit one).
Under ``accelerate launch`` each process takes its share (:mod:`almost.ranks`) of the
teacher-forced batches, the held-out episodes and the probe states; every batch, episode and
state has its own seeds, so the figures are those of one process; the main process writes.

Autoregressive: for ``rollout.episodes`` held-out episodes, seed the context with real
frames (stored latents or freshly encoded pixels), then generate ``rollout.horizon`` frames
driven by the recorded (or random) actions; PSNR per step against the recording, vs the
repeat-last baseline. Each episode becomes a GIF: recorded | generated, side by side.
Uses the decoder stage's fine-tuned VAE when present.
"""

from __future__ import annotations

import time

import numpy as np


def run(ctx, device=None) -> None:
    import torch

    from almost import ranks
    from almost.console import console, progress
    from almost.io import read_json
    from almost.threads import cpu_budget, set_threads

    from ..model.latents import LatentStore, WindowDataset
    from ..model.metrics import (
        box_masks,
        lpips_model,
        lpips_score,
        psnr,
        psnr_masked,
        sharpness_ratio,
        ssim,
        to_unit,
    )
    from ..model.sampling import Sampler, SampleSettings, make_scheduler
    from ..model.vae import FrameCodec, load_vae
    from ..model.world_model import WorldModel, build_world_model

    cfg, rcfg = ctx.config, ctx.config.rollout
    device = torch.device(device) if device is not None else ctx.accelerator().device
    if device.type == "cpu":  # a GPU stage leaves the CPU threads alone
        set_threads(cpu_budget())
    out = ctx.stage_dir()
    latent_dir = ctx.find_stage_dir("encode") / "latents"
    store = LatentStore(latent_dir, ctx.run_dir)
    train_dir = ctx.find_stage_dir("train")
    split = read_json(train_dir / "split.json", "episode split")
    trained = WorldModel.load(train_dir / "model").eval().to(device)
    meta = {k: trained.meta[k] for k in ("action_names", "noop_action", "latent_shape",
                                         "scaling_factor", "seed") if k in trained.meta}
    settings = SampleSettings.of(rcfg)
    trained.check_action_guidance(settings.action_guidance)
    untrained = build_world_model(cfg.model, trained.num_actions, store.latent_shape[1:],
                                  int(trained.meta.get("seed", cfg.seed)), meta,
                                  latent_channels=store.latent_shape[0]).eval().to(device)
    scheduler = make_scheduler(read_json(train_dir / "model/scheduler/scheduler_config.json",
                                         "scheduler config"))
    dec_dir = ctx.run_dir / "decoder" / "vae"
    vae_path = dec_dir if (dec_dir / "config.json").is_file() else latent_dir / store.index["vae"]
    vae = load_vae(vae_path).eval().to(device)
    pos_of = {e["id"]: i for i, e in enumerate(store.episodes)}
    held = [pos_of[i] for i in split["heldout"] if i in pos_of]
    if not held:
        console.print("[yellow]rollout: no held-out episodes (train.heldout_fraction is 0); "
                      "scoring training episodes instead[/]")
        held = [pos_of[i] for i in split["train"]]
    codec = FrameCodec.for_store(vae, store)
    sampler = Sampler(trained, scheduler, settings)  # the trained model as every figure samples it

    # -- teacher-forced next frame --------------------------------------------------------
    data = WindowDataset(store, trained.context, held)
    rng = np.random.default_rng(cfg.seed + 11)
    picks = np.sort(rng.choice(len(data), size=min(rcfg.eval_frames, len(data)), replace=False))
    windows = [data[int(i)] for i in picks]
    real_l, prev_l, boxes = [], [], []
    for w in windows:  # one pass: with more held-out episodes than the cache holds, two passes load each twice
        ep, t = store.episode(int(w["episode"])), int(w["t"])
        real_l.append(ep.frames[t])
        prev_l.append(ep.frames[t - 1])
        boxes.append(None if ep.objects is None else ep.objects[t])
    real, prev = to_unit(np.stack(real_l)), to_unit(np.stack(prev_l))
    del real_l, prev_l
    objects = box_masks(boxes, real.shape[2:]) if any(b is not None for b in boxes) else None
    lp = lpips_model()
    scores: dict[str, float] = {}

    def score(name: str, pred: torch.Tensor) -> None:
        scores[f"psnr_db_{name}"] = float(psnr(pred, real).mean())
        scores[f"ssim_{name}"] = float(ssim(pred, real).mean())
        scores[f"sharpness_{name}"] = sharpness_ratio(pred, real)
        if objects is not None and objects.any():  # the trained model's figure is plain psnr_db_objects
            scores["psnr_db_objects" + ("" if name == "trained" else f"_{name}")] = psnr_masked(pred, real, objects)
        if lp is not None:
            scores[f"lpips_{name}"] = float(lpips_score(lp, pred, real).mean())

    t0 = time.time()
    from ..cpu_share import ThreadRetune

    retune = ThreadRetune(enabled=device.type == "cpu")  # threads follow the idle cores as it runs
    # under `accelerate launch` each process makes its share of the batches (almost.ranks); each
    # batch draws its own noise, so a frame is the same whichever process (or how many) made it
    starts = list(range(0, len(windows), 16))
    mine = ranks.share(starts)
    ranks.say_share("rollout", len(mine), len(starts), "teacher-forced batches")
    with progress() as bar:
        runs = [("trained", sampler), ("untrained", Sampler(untrained, scheduler, settings))]
        if rcfg.play_steps and rcfg.play_steps != rcfg.ddim_steps:  # what `play` shows, measured too
            runs.append(("play", Sampler(trained, scheduler, SampleSettings.of(rcfg, play=True))))
        total = sum(min(16, len(windows) - a) for a in mine)
        task = bar.add_task("teacher-forced frames", total=len(runs) * total, info="")
        for name, each in runs:
            made = []
            for a in mine:
                g = torch.Generator(device).manual_seed(cfg.seed + 5 + a)
                batch = {k: v.to(device) for k, v in
                         torch.utils.data.default_collate(windows[a:a + 16]).items()}
                z = each.next_latent(batch["context"], batch["actions"], batch["mask"], g)
                made.append((codec.decode(z),
                             (z - batch["target"]).pow(2).mean(dim=(1, 2, 3)).cpu()))
                bar.update(task, advance=len(batch["t"]), info=name)
                retune()
            preds, sq = zip(*ranks.gather_shares(made, len(starts))) if starts else ((), ())
            score(name, torch.cat(preds))
            scores[f"latent_mse_{name}"] = float(torch.cat(sq).mean())
    tf_secs = time.time() - t0
    score("copy_raw", prev)
    score("copy_vae", torch.cat([codec.decode(torch.stack([w["context"][-1] for w in windows[a:a + 64]]))
                                 for a in range(0, len(windows), 64)]))
    score("vae_ceiling", torch.cat([codec.decode(torch.stack([w["target"] for w in windows[a:a + 64]]))
                                    for a in range(0, len(windows), 64)]))
    scores["psnr_db_gain_over_copy_vae"] = scores["psnr_db_trained"] - scores["psnr_db_copy_vae"]
    if "psnr_db_objects" in scores:
        scores["psnr_db_objects_gain_over_copy_vae"] = scores["psnr_db_objects"] - scores["psnr_db_objects_copy_vae"]
        scores["object_frames"] = int(objects.flatten(1).any(1).sum())

    # -- autoregressive rollouts + GIFs ---------------------------------------------------
    c = trained.context
    ar_psnr, ar_repeat, ar_copy_vae, gifs, n_frames, ar_secs = [], [], [], [], 0, 0.0
    ar_gen, ar_truth = [], []
    chosen = list(enumerate(held[: rcfg.episodes]))
    made = []
    for k, pos in ranks.share(chosen):  # this process's episodes; each its own seeds
        length = store.episodes[pos]["length"]
        t_start = min(c, length - 1)
        horizon = min(rcfg.horizon, length - t_start)
        lo = max(0, t_start - c)
        context = torch.zeros(c, *store.latent_shape)
        mask = torch.zeros(c)
        acts = torch.full((c + horizon - 1,), store.noop_action, dtype=torch.long)
        real_frames = store.pixels(pos)
        if rcfg.seed_from == "pixels":
            seed = codec.encode(real_frames[lo:t_start], device)
        else:
            seed = torch.from_numpy(np.array(store.latents(pos, lo, t_start), np.float32))
        context[c - (t_start - lo):] = seed
        mask[c - (t_start - lo):] = 1
        recorded = torch.from_numpy(np.array(store.actions(pos, lo, t_start + horizon - 1)))
        if rcfg.actions == "random":
            ep_rng = np.random.default_rng([cfg.seed + 11, k])
            recorded[t_start - lo:] = torch.from_numpy(ep_rng.integers(0, trained.num_actions, horizon - 1))
        acts[c - (t_start - lo):] = recorded
        g = torch.Generator(device).manual_seed(cfg.seed + 100 + k)
        t1 = time.time()
        _, gen = sampler.rollout(codec, context.to(device), mask.to(device), acts.to(device), g)
        secs = time.time() - t1
        truth = to_unit(real_frames[t_start:t_start + horizon])
        curves = None
        if rcfg.actions == "recorded":
            last = codec.decode(context[-1:].to(device))
            curves = (psnr(gen, truth).numpy(),
                      psnr(to_unit(real_frames[t_start - 1:t_start]).expand_as(truth), truth).numpy(),
                      psnr(last.expand_as(truth), truth).numpy())
        made.append((gen.cpu(), truth, curves, horizon, secs))
    for (k, pos), (gen, truth, curves, horizon, secs) in zip(chosen, ranks.gather_shares(made, len(chosen))):
        ar_secs += secs
        n_frames += horizon
        if curves is not None:
            ar_gen.append(gen)
            ar_truth.append(truth)
            ar_psnr.append(curves[0])
            ar_repeat.append(curves[1])
            ar_copy_vae.append(curves[2])
        gif = out / f"rollout-{k:02d}-{store.episodes[pos]['id'].replace(':', '-')}.gif"
        if ranks.is_main():
            _write_gif(gif, truth, gen, rcfg.gif_scale, rcfg.fps)
        ctx.add_artifact(gif, f"GIF {k} (recorded | generated)")
        gifs.append(gif)

    metrics = dict(scores)
    if ar_psnr:
        metrics["psnr_db_autoregressive"] = float(np.mean(np.concatenate(ar_psnr)))
        metrics["psnr_db_autoregressive_last"] = float(np.mean([a[-1] for a in ar_psnr]))
        metrics["psnr_db_autoregressive_copy_raw"] = float(np.mean(np.concatenate(ar_repeat)))
        metrics["psnr_db_autoregressive_copy_vae"] = float(np.mean(np.concatenate(ar_copy_vae)))
        metrics["sharpness_autoregressive"] = sharpness_ratio(torch.cat(ar_gen), torch.cat(ar_truth))
        if ranks.is_main():
            _write_curve(out / "psnr_over_horizon.json", ar_psnr, ar_repeat, ar_copy_vae)

    # -- action sensitivity: model branches vs the real game's ------------------------------
    if rcfg.probe_states > 0:
        from ..data.make_env import env_spec
        from ..model.probe import action_sensitivity

        spec = env_spec(ctx.registry, cfg.env)
        t2 = time.time()
        with progress() as bar:
            task = bar.add_task("action-sensitivity probe", total=rcfg.probe_states, info="")
            metrics.update(action_sensitivity(
                sampler, codec, spec, seed=cfg.seed, states=rcfg.probe_states,
                horizon=rcfg.probe_horizon, progress=lambda: bar.advance(task)))
        metrics["probe_seconds"] = time.time() - t2
    metrics["lpips_skipped"] = 0.0 if lp is not None else 1.0
    metrics["eval_frames"] = len(windows)
    metrics["teacher_forced_frames_per_s"] = len(runs) * len(windows) / max(tf_secs, 1e-9)
    metrics["rollout_frames_per_s"] = n_frames / max(ar_secs, 1e-9)
    ctx.log_metrics(**metrics)
    if lp is None:
        console.print("rollout: LPIPS skipped (the lpips package or its AlexNet weights are not on disk)")
    console.print(
        f"rollout: next-frame PSNR trained {scores['psnr_db_trained']:.2f} dB, copy-last through the "
        f"VAE {scores['psnr_db_copy_vae']:.2f} dB ({scores['psnr_db_gain_over_copy_vae']:+.2f}), "
        f"untrained {scores['psnr_db_untrained']:.2f} dB, raw copy {scores['psnr_db_copy_raw']:.2f} dB"
        + (f"; action sensitivity {metrics['action_sensitivity']:.2f}, nearest-branch rate "
           f"{metrics['action_nearest_rate']:.2f}" if "action_sensitivity" in metrics else "")
        + f"; GIF: {gifs[0] if gifs else '(none)'}")


def _write_gif(path, truth, gen, scale: int, fps: int) -> None:
    """recorded | generated, side by side, upscaled by ``scale`` (nearest)."""
    import torch
    from PIL import Image

    from almost.io import atomic_path

    from ..model.vae import to_uint8_hwc

    gap = torch.ones(truth.shape[0], 3, truth.shape[2], 2)
    both = torch.cat([truth, gap, gen], dim=3)
    frames = to_uint8_hwc(both)
    images = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST)
              for f in frames]
    with atomic_path(path, suffix=".gif.tmp") as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(1000 / max(fps, 1)), loop=0)


def _write_curve(path, ar_psnr, ar_repeat, ar_copy_vae) -> None:
    from almost.io import atomic_write_json

    n = min(len(a) for a in ar_psnr)
    atomic_write_json(path, {
        "step": list(range(1, n + 1)),
        "psnr_db_generated": [float(np.mean([a[i] for a in ar_psnr])) for i in range(n)],
        "psnr_db_copy_raw": [float(np.mean([a[i] for a in ar_repeat])) for i in range(n)],
        "psnr_db_copy_vae": [float(np.mean([a[i] for a in ar_copy_vae])) for i in range(n)],
    })
