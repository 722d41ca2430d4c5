"""Stage ``rollout``: score the world model on held-out episodes and write GIFs.

Teacher-forced next frame: for ``rollout.eval_frames`` windows drawn uniformly from the
held-out episodes (``train/split.json``), each model generates frame t from the real context
(the run's sampler, ``rollout.sampler``: DDIM by default, with its
:class:`~almost_gamengen.model.sampling.SampleSettings`:
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
from typing import Any

import attrs
import numpy as np


@attrs.define
class _Scoring:
    """What the stage scores with, loaded once: the run's config, the latent store (pixels
    included), the VAE at the run's frame size, the trained model as every figure samples it,
    the untrained one, and the held-out episodes."""

    cfg: Any
    store: Any
    codec: Any
    sampler: Any
    untrained: Any
    held: list
    device: Any


def run(ctx, device=None) -> None:
    import torch

    from almost.train.threads import cpu_budget, set_threads

    device = torch.device(device) if device is not None else ctx.accelerator().device
    if device.type == "cpu":  # a GPU stage leaves the CPU threads alone
        set_threads(cpu_budget())
    s = _load(ctx, device)
    metrics, tail = _teacher_forced(s)
    ar, gifs, ar_rate = _autoregressive(ctx, s)
    metrics.update(ar)
    if s.cfg.rollout.probe_states > 0:
        metrics.update(_probe(ctx, s))
    metrics.update(tail)
    metrics["rollout_frames_per_s"] = ar_rate
    ctx.log_metrics(**metrics)
    _say(metrics, gifs)


def _load(ctx, device) -> _Scoring:
    from almost.io import read_json
    from almost.observe.console import console

    from ..components import registry_of
    from ..model.latents import LatentStore
    from ..model.sampling import SampleSettings, make_sampler
    from ..model.vae import FrameCodec, load_vae
    from ..model.world_model import WorldModel, build_world_model

    cfg = ctx.config
    latent_dir = ctx.find_stage_dir("encode") / "latents"
    store = LatentStore(latent_dir, ctx.run_dir)
    train_dir = ctx.find_stage_dir("train")
    split = read_json(train_dir / "split.json", "episode split")
    trained = WorldModel.load(train_dir / "model").eval().to(device)
    meta = {k: trained.meta[k] for k in ("action_names", "noop_action", "latent_shape",
                                         "scaling_factor", "seed") if k in trained.meta}
    settings = SampleSettings.of(cfg.rollout)
    trained.check_action_guidance(settings.action_guidance)
    untrained = build_world_model(cfg.model, trained.num_actions, store.latent_shape[1:],
                                  int(trained.meta.get("seed", cfg.seed)), meta,
                                  latent_channels=store.latent_shape[0]).eval().to(device)
    sched_cfg = read_json(train_dir / "model/scheduler/scheduler_config.json", "scheduler config")
    dec_dir = ctx.run_dir / "decoder" / "vae"
    vae_path = dec_dir if (dec_dir / "config.json").is_file() else latent_dir / store.index["vae"]
    vae = load_vae(vae_path).eval().to(device)
    pos_of = {e["id"]: i for i, e in enumerate(store.episodes)}
    held = [pos_of[i] for i in split["heldout"] if i in pos_of]
    if not held:
        console.print("[yellow]rollout: no held-out episodes (train.heldout_fraction is 0); "
                      "scoring training episodes instead[/]")
        held = [pos_of[i] for i in split["train"]]
    return _Scoring(cfg, store, FrameCodec.for_store(vae, store),
                    make_sampler(registry_of(ctx), cfg.rollout.sampler, trained, sched_cfg, settings),
                    make_sampler(registry_of(ctx), cfg.rollout.sampler, untrained, sched_cfg, settings), held, device)


# -- teacher-forced next frame ------------------------------------------------------------
def _teacher_forced(s: _Scoring) -> tuple[dict, dict]:
    """Every model's next frames from real contexts, scored against the recording; the copy
    baselines and the VAE ceiling. Returns the scores and the figures that close the metrics."""
    import torch

    from ..model.latents import WindowDataset
    from ..model.metrics import lpips_model
    from ..model.sampling import SampleSettings

    rcfg = s.cfg.rollout
    data = WindowDataset(s.store, s.sampler.model.context, s.held)
    rng = np.random.default_rng(s.cfg.seed + 11)
    picks = np.sort(rng.choice(len(data), size=min(rcfg.eval_frames, len(data)), replace=False))
    windows = [data[int(i)] for i in picks]
    real, prev, objects = _real_frames(s.store, windows)
    lp = lpips_model()
    scores: dict[str, float] = {}
    score = _scorer(scores, real, objects, lp)
    runs = [("trained", s.sampler), ("untrained", s.untrained)]
    if rcfg.play_steps and rcfg.play_steps != rcfg.ddim_steps:  # what `play` shows, measured too
        runs.append(("play", attrs.evolve(s.sampler, settings=SampleSettings.of(rcfg, play=True))))
    t0 = time.time()
    _sample_windows(s, runs, windows, score, scores)
    tf_secs = time.time() - t0
    score("copy_raw", prev)
    codec = s.codec
    score("copy_vae", torch.cat([codec.decode(torch.stack([w["context"][-1] for w in windows[a:a + 64]]))
                                 for a in range(0, len(windows), 64)]))
    score("vae_ceiling", torch.cat([codec.decode(torch.stack([w["target"] for w in windows[a:a + 64]]))
                                    for a in range(0, len(windows), 64)]))
    scores["psnr_db_gain_over_copy_vae"] = scores["psnr_db_trained"] - scores["psnr_db_copy_vae"]
    if "psnr_db_objects" in scores:
        scores["psnr_db_objects_gain_over_copy_vae"] = scores["psnr_db_objects"] - scores["psnr_db_objects_copy_vae"]
        scores["object_frames"] = int(objects.flatten(1).any(1).sum())
    return scores, {"lpips_skipped": 0.0 if lp is not None else 1.0, "eval_frames": len(windows),
                    "teacher_forced_frames_per_s": len(runs) * len(windows) / max(tf_secs, 1e-9)}


def _real_frames(store, windows):
    """The recorded frame of each window, the one before it, and the object masks (or None)."""
    from ..model.metrics import box_masks, to_unit

    real_l, prev_l, boxes = [], [], []
    for w in windows:  # one pass: with more held-out episodes than the cache holds, two passes load each twice
        ep, t = store.recording(int(w["episode"])), int(w["t"])
        real_l.append(ep.frames[t])
        prev_l.append(ep.frames[t - 1])
        boxes.append(None if ep.objects is None else ep.objects[t])
    real, prev = to_unit(np.stack(real_l)), to_unit(np.stack(prev_l))
    del real_l, prev_l
    objects = box_masks(boxes, real.shape[2:]) if any(b is not None for b in boxes) else None
    return real, prev, objects


def _scorer(scores: dict, real, objects, lp):
    """``score(name, frames)``: PSNR, SSIM, sharpness (object PSNR, LPIPS where there are any)
    of ``frames`` against ``real``, into ``scores``."""
    from ..model.metrics import lpips_score, psnr, psnr_masked, sharpness_ratio, ssim

    def score(name: str, pred) -> None:
        scores[f"psnr_db_{name}"] = float(psnr(pred, real).mean())
        scores[f"ssim_{name}"] = float(ssim(pred, real).mean())
        scores[f"sharpness_{name}"] = sharpness_ratio(pred, real)
        if objects is not None and objects.any():  # the trained model's figure is plain psnr_db_objects
            scores["psnr_db_objects" + ("" if name == "trained" else f"_{name}")] = psnr_masked(pred, real, objects)
        if lp is not None:
            scores[f"lpips_{name}"] = float(lpips_score(lp, pred, real).mean())

    return score


def _sample_windows(s: _Scoring, runs, windows, score, scores: dict) -> None:
    """Each run's next frames of ``windows``, in batches of 16, scored.
    Under `accelerate launch` each process makes its share of the batches (almost.ranks); each
    batch draws its own noise, so a frame is the same whichever process (or how many) made it."""
    import torch

    from almost import ranks
    from almost.observe.console import progress

    from ..cpu_share import ThreadRetune

    device, seed = s.device, s.cfg.seed
    retune = ThreadRetune(enabled=device.type == "cpu")  # threads follow the idle cores as it runs
    starts = list(range(0, len(windows), 16))
    mine = ranks.share(starts)
    ranks.say_share("rollout", len(mine), len(starts), "teacher-forced batches")
    with progress() as bar:
        total = sum(min(16, len(windows) - a) for a in mine)
        task = bar.add_task("teacher-forced frames", total=len(runs) * total, info="")
        for name, sampler in runs:
            made = []
            for a in mine:
                g = torch.Generator(device).manual_seed(seed + 5 + a)
                batch = {k: v.to(device) for k, v in
                         torch.utils.data.default_collate(windows[a:a + 16]).items()}
                z = sampler.next_latent(batch["context"], batch["actions"], batch["mask"], g)
                made.append((s.codec.decode(z), (z - batch["target"]).pow(2).mean(dim=(1, 2, 3)).cpu()))
                bar.update(task, advance=len(batch["t"]), info=name)
                retune()
            preds, sq = zip(*ranks.gather_shares(made, len(starts))) if starts else ((), ())
            score(name, torch.cat(preds))
            scores[f"latent_mse_{name}"] = float(torch.cat(sq).mean())


# -- autoregressive rollouts + GIFs -------------------------------------------------------
def _autoregressive(ctx, s: _Scoring) -> tuple[dict, list, float]:
    """``rollout.episodes`` held-out episodes generated from a real seed, one GIF each; PSNR per
    step against the recording. Returns the metrics, the GIFs and the frames per second."""
    import torch

    from almost import ranks

    from ..model.metrics import sharpness_ratio

    rcfg, out = s.cfg.rollout, ctx.stage_dir()
    chosen = list(enumerate(s.held[: rcfg.episodes]))
    made = [_episode(s, k, pos) for k, pos in ranks.share(chosen)]  # this process's; each its own seeds
    curves, gens, truths, gifs, n_frames, secs = [], [], [], [], 0, 0.0
    for (k, pos), (gen, truth, curve, horizon, t) in zip(chosen, ranks.gather_shares(made, len(chosen))):
        secs += t
        n_frames += horizon
        if curve is not None:
            gens.append(gen)
            truths.append(truth)
            curves.append(curve)
        gif = out / f"rollout-{k:02d}-{s.store.episodes[pos]['id'].replace(':', '-')}.gif"
        if ranks.is_main():
            _write_gif(gif, truth, gen, rcfg.gif_scale, rcfg.fps)
        ctx.add_artifact(gif, f"GIF {k} (recorded | generated)")
        gifs.append(gif)
    metrics = {}
    if curves:
        ar_psnr, ar_repeat, ar_copy_vae = ([c[i] for c in curves] for i in range(3))
        metrics["psnr_db_autoregressive"] = float(np.mean(np.concatenate(ar_psnr)))
        metrics["psnr_db_autoregressive_last"] = float(np.mean([a[-1] for a in ar_psnr]))
        metrics["psnr_db_autoregressive_copy_raw"] = float(np.mean(np.concatenate(ar_repeat)))
        metrics["psnr_db_autoregressive_copy_vae"] = float(np.mean(np.concatenate(ar_copy_vae)))
        metrics["sharpness_autoregressive"] = sharpness_ratio(torch.cat(gens), torch.cat(truths))
        if ranks.is_main():
            _write_curve(out / "psnr_over_horizon.json", ar_psnr, ar_repeat, ar_copy_vae)
    return metrics, gifs, n_frames / max(secs, 1e-9)


def _episode(s: _Scoring, k: int, pos: int):
    """Episode ``pos`` (the ``k``-th chosen) rolled out: generated and true frames, its PSNR
    curves (model, raw copy, copy through the VAE; None with random actions), horizon, seconds."""
    import torch

    from ..model.metrics import psnr, to_unit

    rcfg, store, device = s.cfg.rollout, s.store, s.device
    c = s.sampler.model.context
    length = store.episodes[pos]["length"]
    t_start = min(c, length - 1)
    horizon = min(rcfg.horizon, length - t_start)
    lo = max(0, t_start - c)
    context = torch.zeros(c, *store.latent_shape)
    mask = torch.zeros(c)
    acts = torch.full((c + horizon - 1,), store.noop_action, dtype=torch.long)
    real_frames = store.pixels(pos)
    if rcfg.seed_from == "pixels":
        seed = s.codec.encode(real_frames[lo:t_start], device)
    else:
        seed = torch.from_numpy(np.array(store.latents(pos, lo, t_start), np.float32))
    context[c - (t_start - lo):] = seed
    mask[c - (t_start - lo):] = 1
    recorded = torch.from_numpy(np.array(store.actions(pos, lo, t_start + horizon - 1)))
    if rcfg.actions == "random":
        ep_rng = np.random.default_rng([s.cfg.seed + 11, k])
        recorded[t_start - lo:] = torch.from_numpy(ep_rng.integers(0, s.sampler.model.num_actions, horizon - 1))
    acts[c - (t_start - lo):] = recorded
    g = torch.Generator(device).manual_seed(s.cfg.seed + 100 + k)
    t1 = time.time()
    _, gen = s.sampler.rollout(s.codec, context.to(device), mask.to(device), acts.to(device), g)
    secs = time.time() - t1
    truth = to_unit(real_frames[t_start:t_start + horizon])
    curves = None
    if rcfg.actions == "recorded":
        last = s.codec.decode(context[-1:].to(device))
        curves = (psnr(gen, truth).numpy(),
                  psnr(to_unit(real_frames[t_start - 1:t_start]).expand_as(truth), truth).numpy(),
                  psnr(last.expand_as(truth), truth).numpy())
    return gen.cpu(), truth, curves, horizon, secs


# -- action sensitivity: model branches vs the real game's --------------------------------
def _probe(ctx, s: _Scoring) -> dict:
    from almost.observe.console import progress

    from ..data.make_env import env_spec
    from ..model.probe import action_sensitivity

    rcfg = s.cfg.rollout
    spec = env_spec(ctx.registry, s.cfg.env)
    t2 = time.time()
    with progress() as bar:
        task = bar.add_task("action-sensitivity probe", total=rcfg.probe_states, info="")
        out = action_sensitivity(s.sampler, s.codec, spec, seed=s.cfg.seed, states=rcfg.probe_states,
                                 horizon=rcfg.probe_horizon, progress=lambda: bar.advance(task))
    out["probe_seconds"] = time.time() - t2
    return out


def _say(metrics: dict, gifs: list) -> None:
    from almost.observe.console import console

    if metrics["lpips_skipped"]:
        console.print("rollout: LPIPS skipped (the lpips package or its AlexNet weights are not on disk)")
    console.print(
        f"rollout: next-frame PSNR trained {metrics['psnr_db_trained']:.2f} dB, copy-last through the "
        f"VAE {metrics['psnr_db_copy_vae']:.2f} dB ({metrics['psnr_db_gain_over_copy_vae']:+.2f}), "
        f"untrained {metrics['psnr_db_untrained']:.2f} dB, raw copy {metrics['psnr_db_copy_raw']:.2f} dB"
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
