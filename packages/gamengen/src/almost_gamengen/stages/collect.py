"""Stage ``collect``: record episodes with a policy, several processes (or a Ray cluster) at once.

Writes ``<run>/collect/episodes/`` (parquet shards + ``manifest.json``, the format of
:mod:`almost_gamengen.data.episodes`) and ``<run>/collect/episode-<id>.gif`` for a quick look.

Episode ids ``0 .. collect.episodes-1`` are dealt round-robin to ``collect.workers``
processes; each plays its episodes one after another with the reset seed
``game_seed(seed, "collect", id)`` (a stream of its own: never a seed the agent trained on, see
:mod:`almost_gamengen.data.seeds`), records through :class:`~almost_gamengen.data.recorder.EpisodeRecorder`
(shards written atomically: one per finished episode, or groups of short episodes
of about ``collect.shard_frames`` frames) and reports progress to this process.
So an episode's content depends on its id and the seed, not on how many workers there
were, and an interrupted run keeps every finished episode: the next run records only the
ids that are missing. ``--set collect.episodes=N`` asks for N episodes.

``collect.backend = "ray"`` plays the same episodes, with the same seeds, on Ray actors
(:mod:`almost_gamengen.data.collect_ray`): on the cluster of ``collect.ray_address`` /
``RAY_ADDRESS``, or on a Ray started here. Same ids, same seeds, so the same episodes.

Run: ``uv run almost run --plugin gamengen collect --set collect.policy=random``.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
import traceback
from pathlib import Path

import numpy as np

from almost.errors import UserError
from almost.observe.console import console, progress

from ..data.episodes import EpisodeStore, rebuild_manifest
from ..data.make_env import EnvSpec, describe, env_spec
from ..data.recorder import EpisodeRecorder
from ..data.seeds import game_seed


def run(ctx) -> None:
    cfg, ccfg = ctx.config, ctx.config.collect
    if ccfg.episodes < 1 or ccfg.workers < 1:
        raise UserError("collect.episodes and collect.workers must be at least 1")
    spec = env_spec(ctx.registry, cfg.env)
    out = ctx.stage_dir()
    root = out / "episodes"
    root.mkdir(exist_ok=True)

    # -- what is left to do (a re-run resumes) -------------------------------------------
    manifest = rebuild_manifest(root)
    have = {int(e) for s in manifest["shards"] for e in s["episodes"]}
    todo = [i for i in range(ccfg.episodes) if i not in have]
    policy_path = _policy_path(ctx) if ccfg.policy == "agent" else None
    ray_stats: dict = {}
    if ccfg.backend == "ray":
        from ..data.collect_ray import play_on_ray, ray_or_say_so

        ray_or_say_so()  # without the extra: one sentence, before anything else happens
        console.print(
            f"collect: {len(have)} episodes on disk, {len(todo)} to record on Ray, "
            f"policy {ccfg.policy}, game {spec.key}"
        )
        t0 = time.perf_counter()
        if todo:
            ray_stats = play_on_ray(spec, todo, root, ccfg, cfg.seed, policy_path)
        frames = ray_stats.get("frames", 0)
        seconds = time.perf_counter() - t0
    else:
        workers = min(ccfg.workers, len(todo))
        console.print(
            f"collect: {len(have)} episodes on disk, {len(todo)} to record with {workers} "
            f"process(es), policy {ccfg.policy}, game {spec.key}"
        )
        # -- play in worker processes -----------------------------------------------------
        t0 = time.perf_counter()
        frames = _play(spec, todo, workers, root, ccfg, cfg.seed, policy_path) if todo else 0
        seconds = time.perf_counter() - t0

    # -- manifest, checks, preview ----------------------------------------------------------
    extra = {
        "env": spec.key,
        "env_options": spec.kwargs,
        "policy": ccfg.policy,
        "pad_to": [cfg.env.pad_height, cfg.env.pad_width],
        "seed": cfg.seed,
    }
    manifest = rebuild_manifest(root, extra=extra)
    store = EpisodeStore(root)
    missing = sorted(set(range(ccfg.episodes)) - set(store.episode_ids()))
    if missing:
        raise RuntimeError(f"episodes {missing[:10]} were not recorded")
    returns = [r for s in manifest["shards"] for r in s["returns"]]
    ctx.add_artifact(root, "episodes")
    if ccfg.gif_frames > 0:
        gif = write_gif(store, store.episode_ids()[0], out, ccfg.gif_frames, ccfg.gif_scale)
        ctx.add_artifact(gif, "preview GIF")
    ctx.log_metrics(
        episodes=len(store),
        frames=store.num_frames(),
        recorded_frames_per_s=frames / seconds if frames else 0.0,
        mean_episode_steps=store.num_frames() / max(1, len(store)),
        mean_return=float(np.mean(returns)) if returns else 0.0,
        **{k: v for k, v in ray_stats.items() if k.startswith("ray_")},
    )


def _policy_path(ctx) -> Path:
    if ctx.config.collect.policy_path:
        return Path(ctx.config.collect.policy_path)
    path = ctx.run_dir / "agent" / "policy.zip"
    if not path.is_file():
        raise UserError(
            f"collect.policy=agent needs the agent stage's {path}; run `{ctx.command('agent')}` "
            "first, set collect.policy_path, or set collect.policy=random"
        )
    return path


def _play(
    spec: EnvSpec,
    todo: list[int],
    workers: int,
    root: Path,
    ccfg,
    seed: int,
    policy_path: Path | None,
) -> int:
    """Run the workers, show their progress; returns frames recorded."""
    mpc = mp.get_context(ccfg.start_method)
    q = mpc.Queue()
    procs = [
        mpc.Process(
            target=worker,
            name=f"collect-{w}",
            daemon=True,
            args=(
                w,
                spec,
                todo[w::workers],
                str(root),
                ccfg.policy,
                str(policy_path) if policy_path else None,
                ccfg.deterministic,
                seed,
                ccfg.shard_frames,
                q,
            ),
        )
        for w in range(workers)
    ]
    frames, finished, errors = 0, 0, []
    t_start = time.perf_counter()
    try:
        for p in procs:
            p.start()
        with progress() as bar:
            task = bar.add_task("recording episodes", total=len(todo), info="")
            running = workers
            while running:
                try:
                    msg = q.get(timeout=1.0)
                except queue.Empty:
                    if not any(p.is_alive() for p in procs):
                        break
                    continue
                if msg[0] == "episode":
                    frames += msg[3]
                    finished += 1
                    alive = sum(p.is_alive() for p in procs)
                    bar.update(task, advance=1, info=bar_info(frames, t_start, alive))
                elif msg[0] == "error":
                    errors.append(msg[2])
                    running -= 1
                elif msg[0] == "done":
                    running -= 1
        for p in procs:
            p.join(timeout=30)
    finally:
        # on an error or Ctrl-C here: ask the workers to stop (SIGTERM), give them time to
        # write the episodes they finished, and only then kill what is left
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
        q.close()
    if errors:
        if errors[0].startswith("UserError: "):
            raise UserError(errors[0].removeprefix("UserError: "))
        raise RuntimeError(f"a collect worker failed:\n{errors[0]}")
    bad = [p.exitcode for p in procs if p.exitcode not in (0, None)]
    if bad or finished < len(todo):
        raise RuntimeError(
            f"collect workers ended early (exit codes {bad}); "
            f"{finished} of {len(todo)} episodes recorded — run again to resume"
        )
    return frames


def bar_info(frames: int, t_start: float, alive: int) -> str:
    """The progress bar's free column, the same for every backend."""
    fps = frames / max(time.perf_counter() - t_start, 1e-9)
    return f"{frames} frames · {fps:,.0f} frames/s · {alive} workers alive"


def worker(
    index: int,
    spec: EnvSpec,
    ids: list[int],
    root: str,
    policy_kind: str,
    policy_path: str | None,
    deterministic: bool,
    seed: int,
    shard_frames: int,
    q,
) -> None:
    """One process: play episodes ``ids`` in order, recording them into shards."""
    import os
    import signal

    stopping = False

    def stop(*_):  # Ctrl-C or the parent's terminate(): unwind once, then finish writing
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    parent = os.getppid()
    env = rec = None
    try:
        from ..data.policies import make_policy

        env = spec.make()
        info = describe(env)
        policy = make_policy(
            policy_kind, info["action_names"], info["frame_shape"], policy_path, deterministic
        )
        rec = EpisodeRecorder(
            env, root, prefix=f"w{index:02d}", ids=iter(ids), shard_frames=shard_frames
        )
        for eid in ids:
            if os.getppid() != parent:  # the parent died without telling us: stop
                break
            q.put(("episode", index, eid, play_episode(rec, policy, eid, seed)))
        rec.close()  # every episode on disk before saying done
        rec = env = None
        q.put(("done", index))
    except BaseException as e:  # report, then end this process
        interrupted, stopping = stopping, True  # later signals: finish writing regardless
        from almost.errors import UserError as _UE

        if interrupted or isinstance(e, KeyboardInterrupt):
            msg = "interrupted"
        else:
            msg = f"UserError: {e}" if isinstance(e, _UE) else traceback.format_exc()
        q.put(("error", index, msg))
    finally:
        stopping = True
        if rec is not None:
            rec.close()  # also closes the game
        elif env is not None:
            env.close()


def play_episode(rec: EpisodeRecorder, policy, eid: int, seed: int) -> int:
    """Play episode ``eid`` to its end through the recorder; returns its steps. Its content
    depends only on ``eid`` and ``seed``: every backend plays episodes through this."""
    episode_seed = game_seed(seed, "collect", eid)
    policy.reset(episode_seed)
    frame, _ = rec.reset(seed=episode_seed)
    steps = 0
    while True:
        frame, _, terminated, truncated, _ = rec.step(policy.act(frame))
        steps += 1
        if terminated or truncated:
            return steps


def write_gif(store: EpisodeStore, episode_id: int, out: Path, max_frames: int, scale: int) -> Path:
    """An animated GIF of the first ``max_frames`` frames of an episode (atomic)."""
    from PIL import Image

    from almost.io import atomic_path

    ep = store.load(episode_id)
    k = max(1, int(scale))
    frames = [Image.fromarray(np.repeat(np.repeat(f, k, 0), k, 1)) for f in ep.frames[:max_frames]]
    path = out / f"episode-{episode_id}.gif"
    with atomic_path(path, suffix=".gif") as tmp:
        frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=1000 // 15, loop=0
        )
    return path
