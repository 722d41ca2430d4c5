"""ViZDoom components, the action set, reward shaping and the full-profile game/agent shapes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from almost.errors import UserError
from almost.testing import check_component, check_environment
from almost_gamengen.data.envs import BASE_ACTIONS, action_table, scenario_names
from almost_gamengen.data.shaping import ShapedReward, shaped_terms


def test_every_shipped_scenario_is_registered(app):
    names = app.registry.names("env")
    assert {"vizdoom-basic", "vizdoom-health_gathering", "vizdoom-freedoom1"} <= set(names)
    assert {f"vizdoom-{s}" for s in scenario_names()} <= set(names)


def test_vizdoom_basic_is_an_environment_with_the_gamengen_action_set(app, vizdoom_basic):
    check_component(app.registry, "env/vizdoom-basic", height=48, width=64)
    env = vizdoom_basic
    check_environment(env)
    for name in (
        "NOOP",
        "MOVE_LEFT",
        "MOVE_RIGHT",
        "MOVE_FORWARD",
        "MOVE_BACKWARD",
        "TURN_LEFT",
        "TURN_RIGHT",
        "ATTACK",
    ):
        assert name in env.action_names
    assert env.action_names[env.noop_action] == "NOOP"
    frame, info = env.reset(seed=3)
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 5  # a picture
    assert {"HEALTH", "KILLCOUNT", "POSITION_X"} <= set(info["game_variables"])
    # turning changes the view; the no-op keeps it (the basic room has no other motion source)
    turned, *_ = env.step(env.action_names.index("TURN_LEFT"))
    assert np.abs(turned.astype(int) - frame.astype(int)).mean() > 1


def test_max_steps_truncates(vizdoom_basic):
    env = vizdoom_basic
    env.reset(seed=0)
    ends = []
    for _ in range(30):
        _, _, term, trunc, _ = env.step(0)
        ends.append((term, trunc))
    assert ends[-1] == (False, True) and not any(a or b for a, b in ends[:-1])


def test_combos_and_bad_names():
    names, table = action_table(["MOVE_FORWARD+ATTACK", "turn_left+move_forward"])
    assert names[: len(BASE_ACTIONS)] == list(BASE_ACTIONS)
    assert names[-2:] == ["MOVE_FORWARD+ATTACK", "TURN_LEFT+MOVE_FORWARD"]
    assert table[0].sum() == 0 and table[-1].sum() == 2  # NOOP presses nothing
    with pytest.raises(UserError, match="JUMP"):
        action_table(["JUMP+ATTACK"])


def test_unknown_scenario_is_a_user_error(app):
    from almost_gamengen.data.envs import VizdoomEnv

    with pytest.raises(UserError, match="not in the installed wheel"):
        VizdoomEnv("no_such_map")


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


def test_full_profile_game_and_agent_shapes_on_cpu(app):
    """The full settings build: 320×240 E1M1 frames, extra combos, a PPO CNN over them."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from almost_gamengen.config import full
    from almost_gamengen.data.make_env import env_spec
    from almost_gamengen.stages.agent import make_agent_env

    cfg = full()
    assert (cfg.env.height, cfg.env.width, cfg.env.pad_height) == (240, 320, 256)
    spec = env_spec(app.registry, cfg.env)
    vec = DummyVecEnv([lambda: make_agent_env(spec, 0, 1, 0, None, True, cfg.agent.shaping_scale)])
    try:
        # ortho_init=False only skips a slow QR of the 60k×512 layer; shapes are the same
        model = PPO(
            "CnnPolicy",
            vec,
            n_steps=8,
            batch_size=8,
            n_epochs=1,
            device="cpu",
            policy_kwargs={"ortho_init": False},
        )
        obs = vec.reset()
        assert obs.shape == (1, 240, 320, 3)
        action, _ = model.predict(obs)
        assert 0 <= int(action[0]) < len(BASE_ACTIONS) + len(cfg.env.combos)
        _, reward, _, info = vec.step(action)
        assert np.isfinite(reward).all() and "game_variables" in info[0]
    finally:
        vec.close()


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


def test_env_options_reach_only_factories_that_take_them(app):
    from almost_gamengen.config_data import EnvConfig
    from almost_gamengen.data.make_env import env_spec

    spec = env_spec(app.registry, EnvConfig(name="gridchase", max_steps=5))
    assert spec.kwargs == {"max_steps": 5}  # GridChase takes max_steps, not height/width
    spec = env_spec(app.registry, EnvConfig(name="gridchase", max_steps=0))
    assert spec.kwargs == {} and spec.time_limit == 0  # 0 keeps the game's own limit
    env = spec.make()
    try:
        env.reset(seed=0)
        assert not any(env.step(0)[2:4])  # not cut after one step
    finally:
        env.close()
    spec = env_spec(app.registry, EnvConfig(height=24, width=32))
    assert spec.kwargs["height"] == 24 and spec.kwargs["frame_skip"] == 4
