""":mod:`almost_gamengen.data.recorder`: complete episodes only, each frame's boxes with that frame."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from almost_gamengen.data.episodes import (
    EpisodeStore,
    rebuild_manifest,
)
from almost_gamengen.data.recorder import EpisodeRecorder


def test_recorder_drops_an_episode_cut_short_by_reset(tmp_path, counter_env):
    rec = EpisodeRecorder(counter_env, tmp_path, prefix="w00", ids=iter([0, 1]))
    rec.reset()
    rec.step(1)
    rec.step(1)
    rec.reset()  # abandon after 2 steps
    for _ in range(7):
        rec.step(2)
    rec.close()
    rebuild_manifest(tmp_path)
    store = EpisodeStore(tmp_path)
    assert store.episode_ids() == [0]
    assert (store.load(0).actions == 2).all()


class _BoxEnv(gym.Env):
    """Frame t shows t; its one object sits at x = t (so a box recorded with the wrong frame shows)."""

    action_names, noop_action = ("NOOP", "GO"), 0

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (6, 10, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def _out(self):
        return np.full((6, 10, 3), self.t, np.uint8), {"objects": np.array([[self.t, 0, self.t + 1, 2]])}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._out()

    def step(self, a):
        self.t += 1
        f, info = self._out()
        return f, 0.0, self.t >= 4, False, info


def test_recorder_keeps_each_frames_boxes_with_that_frame(tmp_path):
    from almost_gamengen.data.episodes import EpisodeStore, rebuild_manifest
    from almost_gamengen.data.recorder import EpisodeRecorder

    rec = EpisodeRecorder(_BoxEnv(), tmp_path, "w00")
    try:
        rec.reset(seed=0)
        for _ in range(4):
            rec.step(1)
    finally:
        rec.close()
    rebuild_manifest(tmp_path)
    ep = EpisodeStore(tmp_path).load(0)
    for t in range(len(ep)):
        assert ep.frames[t, 0, 0, 0] == t and ep.objects[t].tolist() == [[t, 0, t + 1, 2]]
