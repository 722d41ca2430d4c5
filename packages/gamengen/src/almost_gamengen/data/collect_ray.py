"""``collect.backend = "ray"``: the collect stage's episodes played by Ray actors.

The driver (the ``almost run`` process) joins the cluster named by ``collect.ray_address`` or
``RAY_ADDRESS`` (``ray start --head`` prints the address), or, with neither, starts a Ray of
its own with ``collect.workers`` CPUs and stops it at the end. It then starts
``collect.ray_workers`` actors (0: one per CPU of the cluster), each holding one game and one
policy for the whole run (a ViZDoom game takes ~0.4 s to start: once per actor, not per call).
The PPO policy's zip goes into the object store once; every actor reads it from there.

Episode ids are handed out ``collect.ray_episodes_per_call`` at a time, two calls queued per
actor. An actor plays an id exactly as a local worker does (:func:`~almost_gamengen.stages.collect.play_episode`:
the reset seed comes from the id and the seed), so both backends record the same episodes.
Finished episodes (PNG frames, actions, rewards) come back to the driver, which writes them as
shards ``ray-NNNNN.parquet`` atomically into the run: no shared filesystem is needed. With
``collect.write_on_workers`` (the run directory is shared storage) each actor writes its own
``rNNN-NNNNN.parquet`` shards before its call returns, and the driver only indexes them.

Faults: an actor that dies (its process killed, its node lost) is replaced, and the ids of its
unfinished calls are played again by another actor. A call's episodes reach the run only when
the call has returned (or, writing on workers, in atomic shards that are checked before a
replay), so there is never a duplicate or a partial episode. A driver killed and run again
records only the missing ids, as with the local backend.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter, deque
from pathlib import Path

from almost.errors import UserError
from almost.observe.console import console, progress

EXTRA = "pip install almost-gamengen[ray]"
IN_FLIGHT = 2  # calls queued per actor, so an actor never waits for the driver
MAX_REPLAYS = 3  # times one call's ids are played again after actors died under them


def ray_or_say_so():
    """The ``ray`` module, or one sentence naming the extra that installs it."""
    # under `uv run`, Ray would start every worker through `uv run` with the current folder (a
    # run directory inside it too) packed up as its working_dir; the nodes run the environment
    # they have instead (almost-gamengen installed there, as here). Read when ray is imported.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise UserError(f"collect.backend=ray needs Ray, which is not installed: {EXTRA}") from None
    return ray


def cluster_address(ccfg) -> str:
    return (ccfg.ray_address or os.environ.get("RAY_ADDRESS", "")).strip()


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """A cluster that cannot be reached is one sentence (Ray itself retries for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(
            f"collect.ray_address={address!r} is not host:port (or ray://host:port, auto); "
            "`ray start --head` prints the address to use"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise UserError(
            f"cannot reach the Ray cluster at {address} ({e.strerror or e}); start it with "
            "`ray start --head`, or fix collect.ray_address / RAY_ADDRESS"
        ) from None


def connect(ccfg) -> bool:
    """Join the cluster, or start a Ray here; returns whether this call started the connection
    (then the caller shuts it down). A Ray the caller already started is used as it is."""
    import logging

    ray = ray_or_say_so()
    address = cluster_address(ccfg)
    if address:
        check_reachable(address)
    if ray.is_initialized():
        return False
    quiet = dict(log_to_driver=False, logging_level=logging.WARNING)
    if address:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UserError(f"cannot join the Ray cluster at {address} ({first})") from None
    else:
        ray.init(num_cpus=ccfg.workers, include_dashboard=False, **quiet)
    return True


class _Keep:
    """The recorder's sink on an actor: finished episodes stay in memory for the driver."""

    def __init__(self):
        self.episodes: list = []

    def add(self, episode) -> None:
        self.episodes.append(episode)

    def flush(self) -> None:
        pass

    def take(self) -> list:
        out, self.episodes = self.episodes, []
        return out


class Player:
    """One Ray actor: a game, a policy and a recorder, kept for the whole collection."""

    def __init__(self, spec, policy_kind, policy_blob, deterministic, seed, write_root, prefix,
                 shard_frames):
        self.error, self.rec, self.seed = None, None, seed
        env = None
        try:  # an error here is raised by play(), where the driver sees its real type
            import tempfile

            from .make_env import describe
            from .policies import make_policy
            from .recorder import EpisodeRecorder

            env = spec.make()
            self.info = describe(env)
            path = None
            if policy_blob is not None:
                fd, path = tempfile.mkstemp(suffix=".zip", prefix="almost-policy-")
                with os.fdopen(fd, "wb") as f:
                    f.write(policy_blob)
            self.policy = make_policy(policy_kind, self.info["action_names"],
                                      self.info["frame_shape"], path, deterministic)
            if path:
                os.unlink(path)
            self.keep = None if write_root else _Keep()
            self.rec = EpisodeRecorder(env, write_root or ".", prefix=prefix, writer=self.keep,
                                       shard_frames=shard_frames if write_root else 0)
        except BaseException as e:
            self.error = e
            if env is not None and self.rec is None:
                env.close()

    def play(self, ids: list[int]) -> dict:
        """Play episodes ``ids``; returns them (or, writing on workers, once their shards are
        on disk) with their lengths and where they were played."""
        if self.error is not None:
            raise self.error
        import ray

        from ..stages.collect import play_episode

        self.rec.ids = iter(ids)
        steps = [play_episode(self.rec, self.policy, eid, self.seed) for eid in ids]
        self.rec.flush()  # every episode of this call encoded (and, on workers, written)
        return {
            "ids": list(ids),
            "steps": steps,
            "episodes": self.keep.take() if self.keep is not None else [],
            "node": ray.get_runtime_context().get_node_id(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **self.info,
        }

    def close(self) -> None:
        if self.rec is not None:
            rec, self.rec = self.rec, None
            rec.close()  # also closes the game


def play_on_ray(spec, todo: list[int], root: Path, ccfg, seed: int, policy_path: Path | None) -> dict:
    """Record episodes ``todo`` into ``root`` on Ray; returns frames and figures (``ray_*``)."""
    ray = ray_or_say_so()
    started = connect(ccfg)
    try:
        return _drive(ray, spec, todo, Path(root), ccfg, seed, policy_path)
    finally:
        if started:
            ray.shutdown()


def _on_disk(root: Path) -> set[int]:
    from .episodes import rebuild_manifest

    return {int(e) for s in rebuild_manifest(root)["shards"] for e in s["episodes"]}


def _drive(ray, spec, todo, root, ccfg, seed, policy_path) -> dict:
    from ray.exceptions import RayActorError, RayTaskError

    from ..stages.collect import bar_info
    from .episodes import EpisodeWriter

    remote = ray.remote(num_cpus=1, max_restarts=0)(Player)
    per = ccfg.ray_episodes_per_call
    calls: deque[list[int]] = deque(todo[i:i + per] for i in range(0, len(todo), per))
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n = min(ccfg.ray_workers or max(1, cpus), len(calls))
    blob = ray.put(Path(policy_path).read_bytes()) if policy_path else None  # once, for every actor
    write_root = str(root.resolve()) if ccfg.write_on_workers else None
    made = 0

    def new_actor():
        nonlocal made
        made += 1
        return remote.remote(spec, ccfg.policy, blob, ccfg.deterministic, seed, write_root,
                             f"r{made - 1:03d}", ccfg.shard_frames)

    actors = [new_actor() for _ in range(n)]
    console.print(f"collect: {n} Ray actor(s) on a cluster of {cpus} CPU(s), "
                  f"{len(calls)} calls of up to {per} episode(s)")
    inflight: dict = {}  # ObjectRef -> (actor, ids)
    replays: Counter = Counter()
    writer = None
    frames, done, replayed = 0, 0, 0
    per_node: Counter = Counter()
    t0 = time.perf_counter()

    def top_up():
        busy = Counter(id(a) for a, _ in inflight.values())
        for a in actors:
            while calls and busy[id(a)] < IN_FLIGHT:
                ids = calls.popleft()
                inflight[a.play.remote(ids)] = (a, ids)
                busy[id(a)] += 1

    try:
        top_up()
        with progress() as bar:
            task = bar.add_task("recording episodes (Ray)", total=len(todo), info="")
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                if not ready:
                    bar.update(task, info=bar_info(frames, t0, len(actors)))
                    continue
                actor, ids = inflight.pop(ready[0])
                try:
                    out = ray.get(ready[0])
                except RayTaskError as e:  # play() raised: the game or policy failed
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, UserError):
                        raise UserError(str(cause)) from None
                    raise RuntimeError(f"a collect actor failed on Ray:\n{e}") from None
                except RayActorError as e:  # the actor's process (or node) is gone
                    replays[ids[0]] += 1
                    if replays[ids[0]] > MAX_REPLAYS:
                        raise RuntimeError(
                            f"episodes {ids} were lost with {MAX_REPLAYS + 1} Ray actors in a row; "
                            f"{done} of {len(todo)} recorded — run again to resume\n{e}"
                        ) from None
                    if actor in actors:  # its other calls fail the same way: replace it once
                        actors.remove(actor)
                        actors.append(new_actor())
                    if write_root is not None:  # shards it wrote before dying are kept
                        have = _on_disk(root)
                        kept = [i for i in ids if i in have]
                        ids = [i for i in ids if i not in have]
                        done += len(kept)
                        bar.update(task, advance=len(kept))
                    if ids:
                        calls.appendleft(ids)
                        replayed += 1
                    top_up()
                    continue
                if write_root is None:
                    if writer is None:
                        writer = EpisodeWriter(root, out["action_names"], out["noop_action"],
                                               prefix="ray", update_manifest=False,
                                               shard_frames=ccfg.shard_frames)
                    for ep in out["episodes"]:
                        writer.add(ep)
                frames += sum(out["steps"])
                done += len(out["ids"])
                per_node[out["node"]] += len(out["ids"])
                bar.update(task, advance=len(out["ids"]), info=bar_info(frames, t0, len(actors)))
                top_up()
    finally:
        if writer is not None:
            writer.close()  # what was gathered for a shard is kept, even on Ctrl-C
        _close(ray, actors)
    nodes = ", ".join(f"{k[:8]}: {v}" for k, v in sorted(per_node.items()))
    console.print(f"collect: episodes per Ray node: {nodes}"
                  + (f"; {replayed} call(s) played again after an actor died" if replayed else ""))
    return {"frames": frames, "ray_nodes": len(per_node), "ray_workers": n,
            "ray_replayed_calls": replayed, "episodes_per_node": dict(per_node)}


def _close(ray, actors) -> None:
    """Close every actor's game (the recorder flushes first), then end the actors."""
    refs = [a.close.remote() for a in actors]
    try:
        ray.wait(refs, num_returns=len(refs), timeout=60)
    except Exception:  # an actor already gone: nothing of it to close
        pass
    for a in actors:
        try:
            ray.kill(a)
        except Exception:
            pass
