""":mod:`almost_gamengen.data.envs`: the ViZDoom components, the action set, the game's object
labels, deterministic replays and the full-profile game/agent shapes."""

from __future__ import annotations

import numpy as np
import pytest

from almost.errors import UserError
from almost.testing import check_component, check_environment
from almost_gamengen.data.envs import BASE_ACTIONS, action_table, scenario_names


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
        assert vec.action_space.n == len(BASE_ACTIONS) + len(cfg.env.combos)  # the base set and full's combos
        assert 0 <= int(action[0]) < len(BASE_ACTIONS) + len(cfg.env.combos)
        _, reward, _, info = vec.step(action)
        assert np.isfinite(reward).all() and "game_variables" in info[0]
    finally:
        vec.close()


def test_vizdoom_labels_give_the_monsters_box_scaled_to_the_frame(app):
    env = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=30, labels=True)
    try:
        frame, info = env.reset(seed=3)
        boxes = info["objects"]
        assert boxes.shape[1] == 4 and len(boxes) >= 1  # the Cacodemon; the weapon sprite is not an object
        x0, y0, x1, y1 = boxes[0]
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 48 and (x1 - x0) * (y1 - y0) < 48 * 64 / 8
        # the box holds the monster: its pixels differ from the room's median colour there
        room = np.median(frame.reshape(-1, 3), axis=0)
        assert np.abs(frame[y0:y1, x0:x1].astype(float) - room).mean() > 20
        _, _, _, _, info = env.step(0)
        assert "objects" in info
    finally:
        env.close()
    plain = app.registry.create("env/vizdoom-basic", height=48, width=64, max_steps=30)
    try:
        assert "objects" not in plain.reset(seed=3)[1]
    finally:
        plain.close()


@pytest.mark.slow
def test_vizdoom_replays_a_seed_and_actions_exactly_whatever_came_before(vizdoom_basic):
    """The probe's premise (and collect's "an episode depends only on its seed"): a reset with
    seed s followed by actions A gives the same frames as a fresh game's first episode did."""
    env = vizdoom_basic
    acts = [3, 5, 1, 2, 6, 0, 4, 3]

    def play(seed):
        frames = [env.reset(seed=seed)[0]]
        for a in acts:
            frames.append(env.step(a)[0])
        return np.stack(frames)

    first = play(12345)  # the game's first episode (the seed was once set before init())
    play(777)
    again = play(12345)
    np.testing.assert_array_equal(first, again)
