"""Stage ``collect`` (:mod:`almost_gamengen.stages.collect`) through the CLI: processes,
completeness, resume, errors, and the agent's policy recording readable episodes."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from almost_gamengen.data.episodes import EpisodeStore

GRID = ["env.name=gridchase", "collect.policy=random", "collect.gif_frames=0"]


def _shard_rows(root):
    """Per shard, the (episode_id, step, done) rows in file order."""
    out = {}
    for p in sorted(root.glob("*.parquet")):
        t = pq.read_table(p, columns=["episode_id", "step", "done"])
        out[p.name] = list(
            zip(*(t.column(c).to_pylist() for c in ("episode_id", "step", "done")), strict=True)
        )
    return out


def test_collect_with_two_processes_gives_complete_episodes_the_same_as_one(tmp_path, run_gamengen):
    """The toy game of the third-party plugin collects through the same stage."""
    two, one = tmp_path / "two", tmp_path / "one"
    code, out, err = run_gamengen(
        two, "collect", sets=[*GRID, "collect.workers=2", "collect.episodes=6"]
    )
    assert code == 0, out + err
    code, out, err = run_gamengen(
        one, "collect", sets=[*GRID, "collect.workers=1", "collect.episodes=6"]
    )
    assert code == 0, out + err

    root = two / "collect" / "episodes"
    rows = _shard_rows(root)
    assert {name.split("-")[0] for name in rows} == {"w00", "w01"}  # both processes recorded
    seen = set()
    for name, shard in rows.items():
        blocks = [[shard[0]]]  # consecutive rows of one episode
        for r in shard[1:]:
            (blocks[-1].append(r) if r[0] == blocks[-1][-1][0] else blocks.append([r]))
        for block in blocks:
            eid = block[0][0]
            assert eid not in seen, f"episode {eid} is split or recorded twice ({name})"
            seen.add(eid)
            assert [r[1] for r in block] == list(range(len(block))), f"{name}: steps out of order"
            assert [r[2] for r in block] == [False] * (len(block) - 1) + [True], (
                f"{name}: done misplaced"
            )
    assert seen == set(range(6))
    worker_of = {eid: name[:3] for name, shard in rows.items() for eid, *_ in shard}
    assert {worker_of[i] for i in (0, 2, 4)} == {"w00"} and {worker_of[i] for i in (1, 3, 5)} == {
        "w01"
    }

    a, b = EpisodeStore(root), EpisodeStore(one / "collect" / "episodes")
    assert a.action_names == ["NOOP", "UP", "DOWN", "LEFT", "RIGHT"] and a.frame_shape == (
        32,
        32,
        3,
    )
    for eid in range(6):  # an episode depends on its id and the seed, not on the process
        ea, eb = a.load(eid), b.load(eid)
        np.testing.assert_array_equal(ea.frames, eb.frames)
        np.testing.assert_array_equal(ea.actions, eb.actions)
    metrics = json.loads((two / "metrics.json").read_text())["collect"]
    assert metrics["episodes"] == 6 and metrics["frames"] == a.num_frames()


def test_collect_resumes_and_rerecords_only_what_is_missing(tmp_path, run_gamengen):
    sets = [*GRID, "collect.workers=2", "collect.shard_frames=0"]  # one shard per episode
    assert run_gamengen(tmp_path, "collect", sets=[*sets, "collect.episodes=4"])[0] == 0
    root = tmp_path / "collect" / "episodes"
    before = {p.name: p.stat().st_mtime_ns for p in root.glob("*.parquet")}
    lost = sorted(before)[0]
    (root / lost).unlink()  # as if the run had died before this episode was written
    (tmp_path / "manifest.json").unlink()  # forget that the stage finished
    code, out, err = run_gamengen(tmp_path, "collect", sets=[*sets, "collect.episodes=4"])
    assert code == 0, out + err
    assert "3 episodes on disk, 1 to record" in out
    after = {p.name: p.stat().st_mtime_ns for p in root.glob("*.parquet")}
    kept = {k: v for k, v in before.items() if k != lost}
    assert all(after[k] == v for k, v in kept.items())  # finished episodes were not rewritten
    assert EpisodeStore(root).episode_ids() == [0, 1, 2, 3]


def test_corrupt_shard_stops_collect_with_one_sentence(tmp_path, run_gamengen):
    sets = [*GRID, "collect.episodes=2", "collect.workers=1"]
    assert run_gamengen(tmp_path, "collect", sets=sets)[0] == 0
    shard = sorted((tmp_path / "collect" / "episodes").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:100])  # truncated, e.g. by a full disk
    (tmp_path / "manifest.json").unlink()  # forget that the stage finished: it runs again
    code, out, err = run_gamengen(tmp_path, "collect", sets=sets)
    assert code == 2
    assert shard.name in out + err and "corrupt or truncated" in out + err
    assert "Traceback" not in out + err


def test_collect_needs_an_agent_policy_or_says_so(tmp_path, run_gamengen):
    code, out, err = run_gamengen(tmp_path, "collect", sets=["env.name=gridchase", "collect.policy=agent"])
    assert code == 2 and "collect.policy=random" in out + err and "Traceback" not in out + err


@pytest.mark.slow
def test_agent_then_collect_on_vizdoom_leaves_readable_episodes_and_a_gif(tmp_path, run_gamengen):
    sets = [
        "agent.total_steps=128",
        "agent.n_steps=32",
        "agent.batch_size=32",
        "agent.checkpoint_every=64",
        "collect.episodes=2",
        "env.max_steps=20",
    ]
    code, out, err = run_gamengen(tmp_path, "agent", "collect", sets=sets)
    assert code == 0, out + err
    agent = tmp_path / "agent"
    assert (agent / "policy.zip").is_file()
    ckpts = sorted(p.name for p in (agent / "checkpoints").glob("ppo-*.zip"))
    assert "ppo-000000064.zip" in ckpts and "ppo-000000128.zip" in ckpts
    for d in (agent / "episodes", tmp_path / "collect" / "episodes"):
        store = EpisodeStore(d)
        assert len(store) >= 2
        ep = store.load(store.episode_ids()[0])
        assert ep.frames.shape[1:] == (48, 64, 3) and store.frame_shape == (48, 64, 3)
        assert ep.actions.min() >= 0 and ep.actions.max() < len(store.action_names) == 8
        assert ep.frames.std() > 5  # real pictures, not blank frames
    # episodes recorded while training come from both game processes and never share an id
    ids = EpisodeStore(agent / "episodes").episode_ids()
    assert len(ids) == len(set(ids))
    assert {p.name.split("-")[1] for p in (agent / "episodes").glob("*.parquet")} == {"e00", "e01"}
    gif = tmp_path / "collect" / "episode-0.gif"
    from PIL import Image

    with Image.open(gif) as im:
        # Pillow merges identical consecutive frames (random play has some) into one
        assert 1 < im.n_frames <= len(EpisodeStore(tmp_path / "collect" / "episodes").load(0))
        assert im.size == (64 * 3, 48 * 3)
