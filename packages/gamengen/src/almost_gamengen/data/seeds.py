"""Game reset seeds: one disjoint stream per use, so held-out play never repeats training play.

ViZDoom takes seeds in ``[0, 2**31)``. Every seed a stage hands to a game comes from
:func:`game_seed`, whose value ``≡ stream (mod 4)``: the agent's training games, ``collect``'s
episodes, the agent's evaluation games and the rollout's action-sensitivity replays can
therefore never share a seed, whatever the run's seed or the episode index. Within a
stream the seed is a hash of ``(run seed, stream, index)``.
"""

from __future__ import annotations

import numpy as np

STREAMS = {"agent": 0, "collect": 1, "eval": 2, "probe": 3}


def game_seed(seed: int, stream: str, index: int) -> int:
    """The reset seed of game/episode ``index`` of ``stream`` in a run seeded ``seed``."""
    code = STREAMS[stream]
    h = int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, code, int(index)]).generate_state(1)[0])
    return (h % (2**29)) * 4 + code


def stream_of(game_seed_value: int) -> str:
    """Which stream a seed came from (its residue mod 4)."""
    code = int(game_seed_value) % 4
    return next(k for k, v in STREAMS.items() if v == code)
