""":mod:`almost_gamengen.data.seeds`: disjoint seed streams."""

from __future__ import annotations

from almost_gamengen.data.seeds import STREAMS, game_seed, stream_of


def test_seed_streams_never_coincide():
    seen = {}
    for seed in (0, 1, 7):
        for stream in STREAMS:
            for i in range(300):
                s = game_seed(seed, stream, i)
                assert 0 <= s < 2**31 and stream_of(s) == stream
                seen.setdefault(stream, set()).add(s)
    streams = list(seen)
    for i, a in enumerate(streams):
        for b in streams[i + 1:]:
            assert not seen[a] & seen[b]
    assert game_seed(0, "collect", 0) != 0  # collect:0 once shared ViZDoom seed 0 with agent:0
