""":mod:`almost_gamengen.data.episodes`, the episode format: round trip, alignment convention,
readers, atomic and corrupt shards, the optional objects column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from almost.errors import UserError
from almost_gamengen.data.episodes import (
    Episode,
    EpisodeStore,
    EpisodeWriter,
    find_episode_dirs,
    rebuild_manifest,
    write_episodes,
)
from almost_gamengen.data.recorder import EpisodeRecorder

NAMES = ["NOOP", "LEFT", "RIGHT", "FIRE"]


def _episodes(n=5, seed=0, shape=(8, 12, 3)):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = 3 + 2 * i
        out.append(
            Episode.build(
                10 + i,
                rng.integers(0, 256, (t, *shape), dtype=np.uint8),
                rng.integers(0, len(NAMES), t),
                rng.normal(size=t),
            )
        )
    return out


def test_round_trip_is_lossless_and_declares_its_shape(tmp_path):
    eps = _episodes()
    write_episodes(tmp_path, eps, NAMES, 0, episodes_per_shard=2)
    store = EpisodeStore(tmp_path)
    assert len(store) == 5 and store.episode_ids() == [10, 11, 12, 13, 14]
    assert store.num_frames() == sum(len(e) for e in eps)
    assert (
        store.action_names == NAMES and store.noop_action == 0 and store.frame_shape == (8, 12, 3)
    )
    assert len(list(tmp_path.glob("*.parquet"))) == 3
    for want in eps:
        got = store.load(want.episode_id)
        np.testing.assert_array_equal(got.frames, want.frames)
        np.testing.assert_array_equal(got.actions, want.actions)
        np.testing.assert_allclose(got.rewards, want.rewards.astype(np.float32))
        assert got.frames.dtype == np.uint8 and got.actions.dtype == np.int64
        assert got.dones.tolist() == [False] * (len(want) - 1) + [True]


@pytest.mark.parametrize("background", [True, False], ids=["thread", "inline"])
def test_alignment_action_t_follows_frame_t_and_leads_to_frame_t_plus_1(
    tmp_path, counter_env, background
):
    rec = EpisodeRecorder(counter_env, tmp_path, prefix="w00", ids=iter([0]), background=background)
    frame, _ = rec.reset(seed=0)
    actions = [1, 3, 2, 2, 0, 1, 3]
    for a in actions:
        frame, _, term, trunc, _ = rec.step(a)
    assert term  # the episode ended on the 7th action
    rec.close()  # waits for the background write
    rebuild_manifest(tmp_path)
    ep = EpisodeStore(tmp_path).load(0)
    assert len(ep) == len(actions)  # the terminal frame is not stored; every action is real
    np.testing.assert_array_equal(ep.actions, actions)
    # frame t shows t steps taken, and the action taken before it
    assert ep.frames[:, 0, 0, 0].tolist() == list(range(len(actions)))
    for t in range(len(actions) - 1):
        assert ep.frames[t + 1, 0, 0, 1] == 50 * ep.actions[t], (
            f"a_{t} did not lead to frame {t + 1}"
        )
    np.testing.assert_allclose(ep.rewards, np.arange(1, len(actions) + 1))  # r_t earned by a_t
    assert ep.dones[-1] and not ep.dones[:-1].any()


def test_pyarrow_and_datasets_read_the_shards(tmp_path):
    import pyarrow.parquet as pq

    eps = _episodes(3)
    write_episodes(tmp_path, eps, NAMES, 0, episodes_per_shard=3)
    shard = next(tmp_path.glob("*.parquet"))
    table = pq.read_table(shard)
    assert table.column_names == ["episode_id", "step", "frame", "action", "reward", "done"]
    meta = json.loads(table.schema.metadata[b"almost"])
    assert meta["action_names"] == NAMES and meta["frame_shape"] == [8, 12, 3]

    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(
        "parquet", data_files=[str(shard)], split="train", cache_dir=str(tmp_path / "hf-cache")
    )
    assert len(ds) == sum(len(e) for e in eps)
    row = ds[0]
    np.testing.assert_array_equal(np.asarray(row["frame"].convert("RGB")), eps[0].frames[0])
    assert row["episode_id"] == 10 and row["step"] == 0 and row["action"] == eps[0].actions[0]


def test_writer_refuses_bad_episodes_and_leaves_no_partial_file(tmp_path):
    w = EpisodeWriter(tmp_path, NAMES, 0)
    bad = Episode.build(0, np.zeros((3, 4, 4, 3), np.uint8), [0, 1, 9])
    with pytest.raises(ValueError, match="outside"):
        w.add(bad)
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*tmp"))


def test_writer_appends_to_the_manifest_and_continues_numbering(tmp_path):
    eps = _episodes(3)
    with EpisodeWriter(tmp_path, NAMES, 0, prefix="w00") as w:
        w.add(eps[0])
    with EpisodeWriter(tmp_path, NAMES, 0, prefix="w00") as w:  # a resumed run
        w.add(eps[1])
        w.add(eps[2])
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == [
        "w00-00000.parquet",
        "w00-00001.parquet",
        "w00-00002.parquet",
    ]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["episodes"] == 3 and manifest["frames"] == sum(len(e) for e in eps)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_shard_is_reported_by_name(tmp_path, damage):
    write_episodes(tmp_path, _episodes(4), NAMES, 0, episodes_per_shard=2)
    shard = sorted(tmp_path.glob("*.parquet"))[1]
    data = shard.read_bytes()
    shard.write_bytes(
        data[: len(data) // 2] if damage == "truncate" else b"not parquet at all" * 10
    )
    store = EpisodeStore(tmp_path)  # the manifest still lists it
    store.load(10)  # the other shard is fine
    with pytest.raises(UserError, match=shard.name):
        store.load(12)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(UserError, match=rf"{shard.name} is corrupt or truncated"):
        EpisodeStore(tmp_path)


def test_missing_things_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        EpisodeStore(tmp_path / "nope")
    write_episodes(tmp_path, _episodes(1), NAMES, 0)
    with pytest.raises(UserError, match="episode 99 is not in"):
        EpisodeStore(tmp_path).load(99)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(UserError, match="not valid JSON"):
        EpisodeStore(tmp_path)


def test_find_episode_dirs(tmp_path):
    assert find_episode_dirs(tmp_path) == []
    write_episodes(tmp_path / "collect" / "episodes", _episodes(1), NAMES, 0)
    (tmp_path / "agent" / "episodes").mkdir(parents=True)  # empty: not listed
    assert find_episode_dirs(tmp_path) == [tmp_path / "collect" / "episodes"]
    write_episodes(tmp_path / "agent" / "episodes", _episodes(1), NAMES, 0)
    assert find_episode_dirs(tmp_path) == [
        tmp_path / "agent" / "episodes",
        tmp_path / "collect" / "episodes",
    ]


def test_episode_folder_is_a_registered_dataset(tmp_path, app):
    from almost.testing import check_component

    write_episodes(tmp_path, _episodes(2), NAMES, 0)
    store = check_component(app.registry, "dataset/gamengen-episodes", root=tmp_path)
    assert store.schema()["frame"]["shape"] == [8, 12, 3] and store.schema()["episodes"] == 2
    assert store[1].episode_id == 11


def test_a_broken_manifest_is_rebuilt_from_the_shards(tmp_path):
    write_episodes(tmp_path, _episodes(2), NAMES, 0)
    (tmp_path / "manifest.json").write_text("{half")
    assert rebuild_manifest(tmp_path)["episodes"] == 2
    assert len(EpisodeStore(tmp_path)) == 2


# -- the objects column -----------------------------------------------------------------------
def test_objects_column_round_trips_and_stays_optional(tmp_path):
    from almost_gamengen.data.episodes import Episode, EpisodeStore, write_episodes

    frames = np.zeros((3, 8, 12, 3), np.uint8)
    boxes = [[[1, 2, 4, 5]], [], [[0, 0, 2, 2], [5, 3, 9, 7]]]
    write_episodes(tmp_path / "a", [Episode.build(0, frames, [0, 1, 0], objects=boxes)], ["n", "x"], 0)
    ep = EpisodeStore(tmp_path / "a").load(0)
    assert [b.tolist() for b in ep.objects] == boxes
    assert ep.objects[1].shape == (0, 4) and ep.objects[0].dtype == np.int16
    write_episodes(tmp_path / "b", [Episode.build(0, frames, [0, 1, 0])], ["n", "x"], 0)
    assert EpisodeStore(tmp_path / "b").load(0).objects is None  # no column, no boxes
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "a/*.parquet"), split="train")
    assert ds[2]["objects"] == [0, 0, 2, 2, 5, 3, 9, 7]
