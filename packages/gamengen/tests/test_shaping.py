""":mod:`almost_gamengen.data.shaping`: the scaled reward PPO sees and GameNGen's shaped reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from almost_gamengen.data.shaping import ShapedReward, shaped_terms


def test_scaled_reward_scales_what_ppo_sees_not_what_the_logs_show(counter_env):
    from stable_baselines3.common.monitor import Monitor

    from almost_gamengen.data.shaping import ScaledReward

    env = ScaledReward(Monitor(counter_env), 0.01)  # CounterEnv: reward t at step t, 7 steps
    env.reset(seed=0)
    seen, done, info = [], False, {}
    while not done:
        _, r, term, trunc, info = env.step(1)
        seen.append(r)
        done = term or trunc
    assert seen == pytest.approx([0.01 * t for t in range(1, 8)])
    assert info["episode"]["r"] == pytest.approx(28.0)  # Monitor: the game's own units


def test_shaping_terms_follow_the_gamengen_table():
    prev = {
        "HITCOUNT": 0,
        "KILLCOUNT": 0,
        "ITEMCOUNT": 0,
        "SECRETCOUNT": 0,
        "HEALTH": 100,
        "ARMOR": 0,
        "SELECTED_WEAPON_AMMO": 50,
        "HITS_TAKEN": 0,
    }
    cur = dict(prev, HITCOUNT=1, KILLCOUNT=1, HEALTH=90, SELECTED_WEAPON_AMMO=48, HITS_TAKEN=2)
    t = shaped_terms(prev, cur, new_cell_distance=2, died=False)
    assert t["hit"] == 300 and t["kill"] == 1000 and t["area"] == 20 * (1 + 0.5 * 2)
    assert t["health"] == -100 and t["ammo"] == -2 and t["hurt"] == -200 and t["death"] == 0
    assert shaped_terms(prev, dict(prev, SELECTED_WEAPON_AMMO=60), None, False)["ammo"] == 100
    assert shaped_terms(prev, prev, None, True)["death"] == -5000


class _VarsEnv(gym.Env):
    """Reports scripted game variables; the env's own reward is always 1."""

    action_space = gym.spaces.Discrete(2)
    observation_space = gym.spaces.Box(0, 255, (4, 4, 3), np.uint8)

    def __init__(self, script):
        self.script, self.t = script, 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros((4, 4, 3), np.uint8), {"game_variables": self.script[0]}

    def step(self, action):
        self.t += 1
        return (
            np.zeros((4, 4, 3), np.uint8),
            1.0,
            False,
            False,
            {"game_variables": self.script[self.t]},
        )


def test_shaped_reward_rewards_kills_and_new_areas_and_punishes_death():
    base = {"KILLCOUNT": 0, "HEALTH": 100, "POSITION_X": 0.0, "POSITION_Y": 0.0, "DEAD": 0}
    script = [
        base,
        dict(base, KILLCOUNT=1),
        dict(base, KILLCOUNT=1, POSITION_X=300.0),
        dict(base, KILLCOUNT=1, POSITION_X=300.0),
        dict(base, KILLCOUNT=1, POSITION_X=300.0, DEAD=1),
    ]
    env = ShapedReward(_VarsEnv(script), scale=0.01, cell_size=128)
    env.reset()
    rewards = [env.step(0)[1] for _ in range(4)]
    assert rewards[0] == pytest.approx(1 + 10.0)  # kill: 1000 points × 0.01
    assert rewards[1] == pytest.approx(1 + 0.2 * (1 + 0.5 * 2))  # a cell 2 away from the start
    assert rewards[2] == pytest.approx(1.0)  # nothing new
    assert rewards[3] == pytest.approx(1 - 50.0)  # death


def test_games_without_game_variables_keep_their_own_reward(app):
    env = ShapedReward(app.registry.create("env/gridchase"))
    try:
        env.reset(seed=0)
        _, r, *_ = env.step(1)
        assert r in (1.0, -0.01)
    finally:
        env.close()
