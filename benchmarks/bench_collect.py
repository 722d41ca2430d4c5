"""Recording cost: frames/s of bare game stepping vs. stepping while recording episodes.

Runs, side by side in one go, for 1 and 2 processes, random play on ViZDoom's ``basic``
scenario at the tiny profile's 48×64 and the full profile's 320×240:

* **bare** — the game alone (``env.step`` with a random action, resets on episode end);
* **recorded** — the same loop through :class:`~almost_gamengen.data.recorder.EpisodeRecorder`
  (PNG encoding on a helper thread, one parquet shard per finished episode).

and prints frames/s and the ratio recorded / bare (the target is recording costing under
15%, i.e. a ratio above 0.85). The machine's other load shows in the numbers: compare
ratios, not absolute rates, and run it on a quiet machine.

Run: ``uv run python benchmarks/bench_collect.py [--steps 1500]``.

``--backend ray`` measures the collect stage's two backends instead, side by side in one run:
recorded frames/s of ``collect.backend=local`` (worker processes) and ``collect.backend=ray``
(Ray actors on a 2-CPU Ray started before the clock), the same episode ids and seeds, random
play on ``basic`` at 48×64 (target: Ray ≥ 0.8× local). Then, with ``--nodes 2`` (the default),
a two-node Ray cluster on this machine (``ray start --head --num-cpus 1`` and ``ray start
--address ... --num-cpus 1``, each with its own CPU) records through ``collect.ray_address``
and prints how many episodes each node played.

Run: ``uv run python benchmarks/bench_collect.py --backend ray [--episodes 60] [--nodes 2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np

SETTINGS = {
    "tiny 48×64": dict(height=48, width=64, resolution="RES_160X120"),
    "full 240×320": dict(height=240, width=320, resolution="RES_320X240", render_hud=True),
}
# tiny: as collect.shard_frames; full writes one shard per episode, but its E1M1 episodes run to
# 2000 steps while basic's end after ~75: 256-frame shards keep the per-shard cost (table, fsync)
# as rare per frame as the full profile's long episodes make it
SHARD_FRAMES = {"tiny 48×64": 256, "full 240×320": 256}


def play(args) -> tuple[int, float, float]:
    """One process: ``steps`` random steps, optionally recorded; (frames, seconds, CPU seconds).

    The CPU time is this process's (all its threads), not the game engine's own process,
    which does the same work either way; it is what recording adds, whatever the load.
    """
    name, steps, record_dir, index, threaded = args
    options = SETTINGS[name]
    import pyarrow.parquet  # noqa: F401  (imported before the clock starts)

    from almost.testing import load_app
    from almost_gamengen.data.recorder import EpisodeRecorder

    env = load_app().registry.create("env/vizdoom-basic", max_steps=200, **options)
    if record_dir is not None:
        env = EpisodeRecorder(
            env,
            record_dir,
            prefix=f"b{index:02d}",
            background=threaded,
            shard_frames=SHARD_FRAMES[name],
        )
    rng = np.random.default_rng(index)
    try:
        env.reset(seed=index)
        for _ in range(20):  # warm up
            if any(env.step(int(rng.integers(8)))[2:4]):
                break
        env.reset(seed=index)
        if record_dir is not None:
            env.ready()  # one-time imports of the parquet writer, as a long collect amortises them
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            _, _, term, trunc, _ = env.step(int(rng.integers(8)))
            if term or trunc:
                env.reset()
        if record_dir is not None:
            env.flush()  # every finished episode on disk (the unfinished one is dropped)
        return steps, time.perf_counter() - t0, time.process_time() - c0
    finally:
        env.close()


def measure(
    name: str, procs: int, steps: int, record: bool, threaded: bool = True
) -> tuple[float, float]:
    """Frames per second summed over ``procs`` processes, and CPU milliseconds per frame."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [
            (name, steps, str(Path(tmp) / "episodes") if record else None, i, threaded)
            for i in range(procs)
        ]
        if procs == 1:
            results = [play(jobs[0])]
        else:
            with mp.get_context("forkserver").Pool(procs) as pool:
                results = pool.map(play, jobs)
    frames = sum(r[0] for r in results)
    return frames / max(r[1] for r in results), 1000 * sum(r[2] for r in results) / frames


# -- collect.backend: local processes vs Ray actors ----------------------------------------
def _collect_setup(episodes: int, **collect):
    import attrs

    from almost.testing import load_app
    from almost_gamengen.config import tiny
    from almost_gamengen.data.make_env import env_spec

    cfg = tiny()
    env = attrs.evolve(cfg.env, name="vizdoom-basic", height=48, width=64)
    ccfg = attrs.evolve(cfg.collect, episodes=episodes, workers=2, policy="random", gif_frames=0,
                        **collect)
    return env_spec(load_app().registry, env), ccfg, cfg.seed


def collect_local(episodes: int) -> tuple[float, int]:
    """Recorded frames/s of the local backend (worker processes started inside the clock)."""
    from almost_gamengen.stages.collect import _play

    spec, ccfg, seed = _collect_setup(episodes)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        frames = _play(spec, list(range(episodes)), ccfg.workers, Path(tmp), ccfg, seed, None)
        return frames / (time.perf_counter() - t0), frames


def collect_ray(episodes: int, address: str = "", per_call: int = 2) -> tuple[float, int, dict]:
    """Recorded frames/s of the Ray backend on a running Ray (actors started inside the clock)."""
    from almost_gamengen.data.collect_ray import play_on_ray

    spec, ccfg, seed = _collect_setup(episodes, backend="ray", ray_address=address,
                                      ray_episodes_per_call=per_call)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        stats = play_on_ray(spec, list(range(episodes)), Path(tmp), ccfg, seed, None)
        return stats["frames"] / (time.perf_counter() - t0), stats["frames"], stats


def _ray_pids(temp_dir: str, before: set[int]) -> list[int]:
    """Processes of the Ray cluster this benchmark started: new since ``before``, and naming its
    temp dir or titled ``ray::...`` (its agents and workers)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) not in before:
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if temp_dir.encode() in cmd or cmd.startswith(b"ray::"):
                pids.append(int(d.name))
    return pids


def two_node_cluster(episodes: int, per_call: int = 2) -> None:
    """Two `ray start` nodes on this machine, one CPU each; episodes must land on both."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    from almost.testing import free_port

    ray_bin = str(Path(sys.executable).parent / "ray")
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="rayb")
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    address = f"127.0.0.1:{port}"
    before = {int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()}
    try:
        subprocess.run([ray_bin, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--num-cpus", "1", "--include-dashboard", "false", "--temp-dir", temp_dir,
                        "--disable-usage-stats"], check=True, env=env, capture_output=True, text=True)
        subprocess.run([ray_bin, "start", "--address", address, "--node-ip-address", "127.0.0.1",
                        "--num-cpus", "1", "--disable-usage-stats"], check=True, env=env,
                       capture_output=True, text=True)
        fps, frames, stats = collect_ray(episodes, address, per_call)
        print(f"two-node Ray cluster at {address}: {stats['ray_nodes']} nodes used, "
              f"{stats['ray_workers']} actors, {frames} frames, {fps:.0f} recorded frames/s")
        for node, n in sorted(stats["episodes_per_node"].items()):
            print(f"  node {node[:12]}: {n} episodes")
    finally:
        for pid in _ray_pids(temp_dir, before):  # only this cluster's processes, by id
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        time.sleep(3)
        for pid in _ray_pids(temp_dir, before):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def main_ray(args) -> None:
    import logging
    import os

    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    rows = []
    try:
        for _ in range(args.repeats):  # interleaved, so drifting machine load hits both
            local, lf = collect_local(args.episodes)
            remote, rf, _ = collect_ray(args.episodes, per_call=args.per_call)
            assert lf == rf, f"the backends recorded different episodes ({lf} vs {rf} frames)"
            rows.append((local, remote))
            print(f"  local {local:6.0f} f/s   ray {remote:6.0f} f/s   ({lf} frames each)")
    finally:
        ray.shutdown()
    local, remote = max(r[0] for r in rows), max(r[1] for r in rows)
    print(f"recorded frames/s, {args.episodes} episodes of basic 48×64, 2 CPUs, {args.per_call} episodes "
          f"per Ray call: local {local:.0f}, "
          f"Ray {remote:.0f}, Ray / local = {remote / local:.2f} (target ≥ 0.8)")
    if args.nodes == 2:
        two_node_cluster(args.episodes, args.per_call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="steps per process per measurement")
    parser.add_argument(
        "--repeats", type=int, default=2, help="alternating bare/recorded runs; best kept"
    )
    parser.add_argument("--backend", choices=("none", "ray"), default="none",
                        help="ray: the collect stage's local vs Ray backends instead")
    parser.add_argument("--episodes", type=int, default=120, help="episodes per backend run (--backend ray)")
    parser.add_argument("--per-call", type=int, default=2, help="collect.ray_episodes_per_call (--backend ray)")
    parser.add_argument("--nodes", type=int, choices=(0, 2), default=2,
                        help="2: also a two-node Ray cluster on this machine (--backend ray)")
    args = parser.parse_args()
    if args.backend == "ray":
        main_ray(args)
        return
    rows = []
    for name in SETTINGS:
        for procs in (1, 2):
            best = {"bare": (0.0, 1e9), "recorded": (0.0, 1e9), "inline": (0.0, 1e9)}
            for _ in range(args.repeats):  # interleaved, so drifting machine load hits all three
                for mode in best:
                    fps, cpu = measure(
                        name, procs, args.steps, record=mode != "bare", threaded=mode == "recorded"
                    )
                    best[mode] = (max(best[mode][0], fps), min(best[mode][1], cpu))
            rows.append((name, procs, best))
            print(
                f"  {name:13s} {procs} proc: "
                + ", ".join(f"{m} {v[0]:6.0f} f/s {v[1]:.3f} ms CPU/frame" for m, v in best.items())
            )
    print()
    print(
        "recorded: PNG encoding on a helper thread (what the stages use); inline: on the game's thread"
    )
    print(
        "CPU: milliseconds of the player process per frame (the engine process is the same in all)"
    )
    print(
        f"{'frames':13s} {'procs':>5s} {'bare f/s':>9s} {'recorded':>9s} {'ratio':>6s} {'inline':>7s} "
        f"{'ratio':>6s} {'CPU bare':>9s} {'CPU rec':>8s}"
    )
    for name, procs, best in rows:
        (bare, cb), (rec, cr), (inline, _) = best["bare"], best["recorded"], best["inline"]
        print(
            f"{name:13s} {procs:5d} {bare:9.0f} {rec:9.0f} {rec / bare:6.2f} {inline:7.0f} "
            f"{inline / bare:6.2f} {cb:9.3f} {cr:8.3f}"
        )
    one = {n: b["recorded"][0] for n, p, b in rows if p == 1}
    for name, procs, best in rows:
        if procs == 2:
            print(
                f"{name}: recorded frames/s, 2 processes / 1 process = {best['recorded'][0] / one[name]:.2f}"
            )


if __name__ == "__main__":
    main()
