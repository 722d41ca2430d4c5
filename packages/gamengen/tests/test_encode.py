"""Stage ``encode`` (:mod:`almost_gamengen.stages.encode`): the VAE it picks and corrupt inputs."""

from __future__ import annotations

import numpy as np
import pytest


def test_encode_picks_the_shipped_vae_or_fits(tmp_path):
    from almost.errors import UserError
    from almost_gamengen.model.vae import shipped_vae_dir
    from almost_gamengen.stages.encode import _vae_source

    assert _vae_source("shipped", (48, 64)) == shipped_vae_dir((48, 64))
    assert _vae_source("shipped", (32, 32)) is None  # no VAE ships for it: fitted
    assert _vae_source("fit", (48, 64)) is None
    assert _vae_source(str(shipped_vae_dir((48, 64))), (48, 64)) == shipped_vae_dir((48, 64))
    with pytest.raises(UserError, match="not 'shipped', 'fit' or a diffusers VAE folder"):
        _vae_source(str(tmp_path), (48, 64))


def test_a_truncated_episode_shard_under_encode_is_one_sentence_naming_it(tmp_path):
    from almost.errors import UserError
    from almost_gamengen.data.episodes import Episode, EpisodeStore, write_episodes
    from almost_gamengen.stages.encode import _episode_lengths

    rng = np.random.default_rng(0)
    eps = [Episode.build(i, rng.integers(0, 255, (5, 8, 8, 3), dtype=np.uint8), [0] * 5) for i in range(2)]
    write_episodes(tmp_path, eps, ["NOOP", "LEFT"], 0)
    store = EpisodeStore(tmp_path)
    shard = tmp_path / store.manifest["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:200])
    with pytest.raises(UserError, match=f"episode shard {shard} is corrupt or truncated"):
        _episode_lengths(store)
