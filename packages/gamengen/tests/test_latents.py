""":mod:`almost_gamengen.model.latents`, the latent store and training windows: boundaries, padding,
uniform coverage, clear errors, and the pixels behind the latents."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from almost.errors import UserError
from almost_gamengen.model.latents import (
    LatentStore,
    StepBatches,
    WindowDataset,
    plan_shards,
    shard_name,
    split_episodes,
    write_index,
    write_shard,
)

NOOP = 0


def make_store(root, lengths, shard_frames=7, shape=(4, 2, 3)):
    """Latent of (episode e, frame t) is filled with 1000·(e+1) + t; action = t % 3 + 1."""
    plan = plan_shards(lengths, shard_frames)
    shards, eps = [], []
    for k, members in enumerate(plan):
        lat, act, start = [], [], 0
        for e in members:
            n = lengths[e]
            vals = 1000.0 * (e + 1) + np.arange(n, dtype=np.float32)
            lat.append(torch.from_numpy(vals)[:, None, None, None].expand(n, *shape).clone())
            act.append(np.arange(n) % 3 + 1)
            eps.append({"id": f"collect:{e}", "source": "collect", "episode_id": e,
                        "shard": k, "start": start, "length": n})
            start += n
        write_shard(root / shard_name(k), torch.cat(lat), np.concatenate(act))
        shards.append({"file": shard_name(k), "frames": start})
    eps.sort(key=lambda r: r["episode_id"])
    write_index(root, latent_shape=shape, dtype="float32", scaling_factor=1.0,
                action_names=["noop", "a", "b", "c"], noop_action=NOOP, frame_shape=(8, 12, 3),
                shards=shards, episodes=eps, vae="../vae")
    return LatentStore(root)


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(2, 9), min_size=1, max_size=6), context=st.integers(1, 5),
       data=st.data())
def test_windows_never_cross_an_episode(tmp_path_factory, lengths, context, data):
    if context >= max(lengths):
        return  # covered by test_context_longer_than_data_is_refused
    store = make_store(tmp_path_factory.mktemp("store"), lengths)
    ds = WindowDataset(store, context)
    assert len(ds) == sum(n - 1 for n in lengths)
    seen = set()
    for i in range(len(ds)):
        w = ds[i]
        e, t = int(w["episode"]), int(w["t"])
        seen.add((e, t))
        assert 1 <= t < lengths[e]
        values = w["context"][:, 0, 0, 0].numpy()
        real = w["mask"].numpy() == 1
        # real context frames are exactly frames t-real..t-1 of the same episode
        expect = 1000.0 * (e + 1) + np.arange(t - real.sum(), t)
        np.testing.assert_array_equal(values[real], expect)
        assert real.sum() == min(context, t)
        assert real[-1] and (np.diff(real.astype(int)) >= 0).all()  # padding only at the start
        # padding: the zero pad latent and the no-op action
        assert (w["context"][~torch.from_numpy(real)] == 0).all()
        assert (w["actions"].numpy()[~real] == NOOP).all()
        np.testing.assert_array_equal(w["actions"].numpy()[real], np.arange(t - real.sum(), t) % 3 + 1)
        assert float(w["target"][0, 0, 0]) == 1000.0 * (e + 1) + t
    # every valid position exactly once: uniform sampling over indices is uniform over positions
    assert seen == {(e, t) for e, n in enumerate(lengths) for t in range(1, n)}
    k = data.draw(st.integers(0, len(ds) - 1))
    batch = next(iter(StepBatches(len(ds), 4, seed=1, start_step=k, steps=k + 1)))
    assert all(0 <= i < len(ds) for i in batch)


def test_store_reads_by_memory_map(tmp_path):
    store = make_store(tmp_path, [5, 6, 7])
    view = store.latents(1, 2, 4)
    assert isinstance(view.base, np.memmap) or isinstance(view, np.memmap)
    assert view[:, 0, 0, 0].tolist() == [2002.0, 2003.0]



def test_the_store_loads_the_recorded_pixels_behind_its_latents(tmp_path):
    """Opened with its run folder, the store finds each episode's frames where its index says
    they were recorded (``<run>/<source>/episodes``); without it, it says so."""
    from almost_gamengen.data.synthetic import synthetic_episode, write_synthetic

    write_synthetic(tmp_path / "collect" / "episodes", episodes=3, length=5, height=8, width=12)
    root = tmp_path / "encode" / "latents"
    root.mkdir(parents=True)
    make_store(root, [5, 5, 5])
    store = LatentStore(root, tmp_path)
    for pos in (2, 0):
        want = synthetic_episode(store.episodes[pos]["episode_id"], 5, 8, 12).frames
        assert np.array_equal(store.pixels(pos), want)
    assert not np.array_equal(store.pixels(0), store.pixels(2))
    assert store.recording(1) is store.recording(1)  # kept in memory, not read again
    with pytest.raises(ValueError, match="without run_dir"):
        LatentStore(root).pixels(0)

def test_step_batches_depend_only_on_the_step():
    full = list(StepBatches(1000, 8, seed=3, start_step=0, steps=6))
    resumed = list(StepBatches(1000, 8, seed=3, start_step=4, steps=6))
    assert resumed == full[4:]
    assert full[0] != full[1]


def test_context_longer_than_data_is_refused(tmp_path):
    store = make_store(tmp_path, [4, 5])
    with pytest.raises(UserError, match="longer than the data allows"):
        WindowDataset(store, 5)


def test_shards_whose_shapes_disagree_are_refused(tmp_path):
    make_store(tmp_path, [4, 4], shard_frames=4)
    write_shard(tmp_path / shard_name(1), torch.zeros(4, 4, 3, 3), np.zeros(4, np.int64))
    with pytest.raises(UserError, match="shards disagree"):
        LatentStore(tmp_path)


def test_split_keeps_one_heldout_episode():
    train, held = split_episodes(list(range(5)), 0.2, seed=0)
    assert len(held) == 1 and sorted(train + held) == list(range(5))
    assert split_episodes(list(range(5)), 0.2, seed=0) == (train, held)
