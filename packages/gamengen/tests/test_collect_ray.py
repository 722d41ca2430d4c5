"""``collect.backend = "ray"`` (:mod:`almost_gamengen.data.collect_ray`): the same episodes as the
local backend, a killed actor's episodes played again exactly once, and one sentence when Ray
is missing or unreachable."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from almost_gamengen.data.episodes import EpisodeStore

GRID = ["env.name=gridchase", "collect.policy=random", "collect.gif_frames=0"]


@pytest.fixture(scope="module")
def local_ray():
    """A 2-CPU Ray on this machine, shared by this module's tests (collect joins it)."""
    from almost_gamengen.data.collect_ray import ray_or_say_so

    ray = ray_or_say_so()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        yield ray
    finally:
        ray.shutdown()


def _ids_per_shard(root: Path) -> list[int]:
    """Every episode id of every shard, with repeats (one per episode stored)."""
    ids = []
    for p in sorted(root.glob("*.parquet")):
        t = pq.read_table(p, columns=["episode_id", "step"]).to_pydict()
        ids += [e for e, s in zip(t["episode_id"], t["step"]) if s == 0]
    return ids


def test_without_ray_backend_ray_names_the_extra(tmp_path, run_gamengen, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code, out, err = run_gamengen(tmp_path, "collect", sets=[*GRID, "collect.backend=ray"])
    assert code == 2, out + err
    assert "pip install almost-gamengen[ray]" in out + err and "Traceback" not in out + err
    assert not list((tmp_path / "collect" / "episodes").glob("*.parquet"))


def test_unreachable_cluster_is_one_sentence(tmp_path, run_gamengen):
    from almost.testing import free_port

    t0 = time.time()
    code, out, err = run_gamengen(
        tmp_path, "collect",
        sets=[*GRID, "collect.backend=ray", f"collect.ray_address=127.0.0.1:{free_port()}"],
    )
    assert code == 2, out + err
    assert "cannot reach the Ray cluster at 127.0.0.1:" in out + err and "Traceback" not in out + err
    assert time.time() - t0 < 60  # Ray alone would retry for minutes


@pytest.mark.slow
@pytest.mark.parametrize("game", ["gridchase", "gridchase-agent", "vizdoom"])
def test_ray_backend_records_the_same_episodes_bitwise_and_resumes(tmp_path, run_gamengen, local_ray, game):
    sets = GRID if game == "gridchase" else [
        "env.name=vizdoom-basic", "env.height=48", "env.width=64", "env.max_steps=40",
        "collect.policy=random", "collect.gif_frames=0"]
    n = 6 if game == "gridchase" else 3
    if game == "gridchase-agent":  # a PPO policy (untrained, sampled actions): sent once through the object store
        from stable_baselines3 import PPO

        from almost_example.game import GridChase
        from almost_gamengen.data.policies import PolicyFrames

        env = PolicyFrames(GridChase())
        try:
            PPO("CnnPolicy", env, n_steps=64, seed=0, device="cpu").save(tmp_path / "ppo.zip")
        finally:
            env.close()
        sets, n = [*GRID, "collect.policy=agent", f"collect.policy_path={tmp_path / 'ppo.zip'}"], 4
    local, remote = tmp_path / "local", tmp_path / "ray"
    code, out, err = run_gamengen(local, "collect", sets=[*sets, "collect.workers=2", f"collect.episodes={n}"])
    assert code == 0, out + err
    # one shard per episode; two shards lost as if the driver had died before writing them
    ray_sets = [*sets, "collect.backend=ray", "collect.ray_episodes_per_call=1", "collect.shard_frames=0",
                f"collect.episodes={n}"]
    code, out, err = run_gamengen(remote, "collect", sets=ray_sets)
    assert code == 0, out + err
    root = remote / "collect" / "episodes"
    before = {p.name: p.stat().st_mtime_ns for p in root.glob("*.parquet")}
    assert len(before) == n
    lost = sorted(before)[:2]
    for name in lost:
        (root / name).unlink()
    (remote / "manifest.json").unlink()  # forget that the stage finished
    code, out, err = run_gamengen(remote, "collect", sets=ray_sets)
    assert code == 0, out + err
    assert f"{n - 2} episodes on disk, 2 to record on Ray" in out
    assert ("policy agent" in out) == (game == "gridchase-agent")
    after = {p.name: p.stat().st_mtime_ns for p in root.glob("*.parquet")}
    assert all(after[k] == v for k, v in before.items() if k not in lost)  # finished ones not rewritten
    assert sorted(_ids_per_shard(root)) == list(range(n))  # each id exactly once
    assert all(p.name.startswith("ray-") for p in root.glob("*.parquet"))  # the driver wrote them
    a, b = EpisodeStore(root), EpisodeStore(local / "collect" / "episodes")
    assert a.action_names == b.action_names and a.frame_shape == b.frame_shape
    for eid in range(n):
        ea, eb = a.load(eid), b.load(eid)
        assert ea.frames.tobytes() == eb.frames.tobytes() and ea.frames.shape == eb.frames.shape
        assert ea.actions.tobytes() == eb.actions.tobytes()
        assert ea.rewards.tobytes() == eb.rewards.tobytes()
        assert ea.dones.tobytes() == eb.dones.tobytes()
    assert len({len(a.load(i)) for i in range(n)}) > 1 or game == "vizdoom"  # not n copies of one episode
    metrics = json.loads((remote / "metrics.json").read_text())["collect"]
    assert metrics["episodes"] == n and metrics["ray_nodes"] == 1 and metrics["ray_replayed_calls"] == 0


def _actor_pids() -> list[int]:
    """Collect actors of this machine in the middle of a call (Ray titles them ``ray::Player.play``)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "cmdline").read_bytes().startswith(b"ray::Player.play"):
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


@pytest.mark.slow
@pytest.mark.parametrize("on_workers", [False, True])
def test_an_actor_killed_mid_collection_leaves_every_id_exactly_once(tmp_path, run_gamengen, local_ray,
                                                                       on_workers):
    n = 40
    killed: list[int] = []
    stop = threading.Event()
    old = set(_actor_pids())  # another test's actors, still going away

    def killer():  # SIGKILL the first actor seen playing: its calls must be played again elsewhere
        while not stop.is_set() and not killed:
            pids = [p for p in _actor_pids() if p not in old]
            if pids:
                time.sleep(0.2)  # let it record a little first
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.01)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        code, out, err = run_gamengen(tmp_path, "collect", sets=[
            *GRID, "env.options.size=12", "collect.backend=ray", f"collect.episodes={n}",
            "collect.ray_episodes_per_call=4", "collect.shard_frames=300",
            f"collect.write_on_workers={str(on_workers).lower()}"])
    finally:
        stop.set()
        th.join(5)
    assert code == 0, out + err
    assert killed, "no actor was running to be killed"
    metrics = json.loads((tmp_path / "metrics.json").read_text())["collect"]
    assert metrics["ray_replayed_calls"] >= 1, out  # the kill really cost calls, which were played again
    root = tmp_path / "collect" / "episodes"
    ids = _ids_per_shard(root)
    assert sorted(ids) == list(range(n)), "an id is missing or recorded twice"
    store = EpisodeStore(root)
    for eid in range(n):  # complete: steps 0..T-1, done only on the last row
        ep = store.load(eid)
        assert ep.dones[-1] and not ep.dones[:-1].any() and len(ep.frames) == len(ep.actions)
    prefixes = {p.name.split("-")[0] for p in root.glob("*.parquet")}
    assert prefixes == ({"ray"} if not on_workers else {p for p in prefixes if p.startswith("r")})
    if on_workers:
        assert len(prefixes) >= 2  # several actors wrote their own shards


@pytest.mark.slow
def test_an_error_on_an_actor_is_the_users_one_sentence(tmp_path, run_gamengen, local_ray):
    bad = tmp_path / "policy.zip"
    bad.write_bytes(b"not a zip")
    code, out, err = run_gamengen(tmp_path / "run", "collect", sets=[
        *GRID, "collect.backend=ray", "collect.policy=agent", f"collect.policy_path={bad}", "collect.episodes=2"])
    assert code == 2, out + err
    assert "could not be loaded" in out + err and "Traceback" not in out + err
