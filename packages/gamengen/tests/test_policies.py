""":mod:`almost_gamengen.data.policies`: scripted and random policies."""

from __future__ import annotations

import numpy as np
import pytest

from almost.errors import UserError
from almost_gamengen.data.envs import BASE_ACTIONS


def test_scripted_and_random_policies_depend_only_on_the_episode_seed(tmp_path):
    from almost_gamengen.data.policies import make_policy

    frame = np.zeros((48, 64, 3), np.uint8)
    for kind in ("random", "scripted"):
        p = make_policy(kind, list(BASE_ACTIONS), frame.shape)
        runs = []
        for seed in (5, 6, 5):
            p.reset(seed)
            runs.append([p.act(frame) for _ in range(40)])
        assert runs[0] == runs[2] and runs[0] != runs[1]
        assert all(0 <= a < len(BASE_ACTIONS) for a in runs[0])
    scripted = runs[0]
    assert sum(a == b for a, b in zip(scripted, scripted[1:], strict=False)) > 20  # sticky actions
    with pytest.raises(UserError, match="does not exist"):
        make_policy("agent", list(BASE_ACTIONS), frame.shape, tmp_path / "nope.zip")
