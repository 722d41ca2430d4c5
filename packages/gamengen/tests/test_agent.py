"""Stage ``agent`` (:mod:`almost_gamengen.stages.agent`): the reward PPO learns from, which
training episodes are kept, checkpoints and resume, and the agent scored next to random play.

Unscaled ViZDoom ``basic`` returns (−4 a step, −5 a shot, +101 a kill) made PPO's value loss
~10³ and the policy collapsed to one action (benchmarks/README.md, agent study); the tiny
profile scales them to order 1. These tests pin that down without training much.
"""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest

from almost_gamengen.data.episodes import EpisodeStore


def test_tiny_agent_learns_from_order_one_rewards_on_basic(app):
    """A regression guard for the collapse: tiny's agent sees basic's −300 floor as −3."""
    import attrs

    from almost_gamengen.config import tiny
    from almost_gamengen.data.make_env import env_spec
    from almost_gamengen.stages.agent import make_agent_env

    cfg = tiny()
    acfg = cfg.agent
    spec = env_spec(app.registry, attrs.evolve(cfg.env, name="vizdoom-basic"))
    env = make_agent_env(spec, 0, 1, 0, None, acfg.shaping, acfg.shaping_scale, cfg.seed,
                         acfg.reward_scale)
    try:
        env.reset()
        noop = env.unwrapped.action_names.index("NOOP")
        seen, done, info = [], False, {}
        while not done:
            _, r, term, trunc, info = env.step(noop)
            seen.append(r)
            done = term or trunc
    finally:
        env.close()
    game_return = info["episode"]["r"]
    assert game_return <= -100  # basic's own units: −4 a step until the time runs out
    assert abs(sum(seen)) <= 5, sum(seen)  # what PPO learns from: order 1
    assert sum(seen) == pytest.approx(acfg.reward_scale * game_return, rel=1e-3)


def test_record_first_keeps_whole_episodes_up_to_the_budget(tmp_path, counter_env):
    from almost_gamengen.data.episodes import rebuild_manifest
    from almost_gamengen.data.recorder import EpisodeRecorder
    from almost_gamengen.stages.agent import RecordFirst

    rec = EpisodeRecorder(counter_env, tmp_path / "ep", prefix="t", background=False)
    env = RecordFirst(rec, 10)  # 7-step episodes: the second one crosses 10 and is finished
    try:
        for ep in range(4):
            env.reset(seed=ep)
            done, t = False, 0
            while not done:
                _, _, term, trunc, _ = env.step(t % 4)
                done, t = term or trunc, t + 1
            assert t == 7  # play goes on the same after recording stops
    finally:
        env.close()
    manifest = rebuild_manifest(tmp_path / "ep")
    assert (manifest["episodes"], manifest["frames"]) == (2, 14)


@pytest.mark.slow
def test_normalized_rewards_save_their_statistics_and_resume_with_them(tmp_path, run_gamengen, monkeypatch):
    import pickle
    import tempfile

    systmp = tmp_path / "systmp"  # where SB3 would leave an empty SB3-<date> folder per learn()
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))
    sets = ["env.name=gridchase", "env.max_steps=20", "agent.num_envs=1", "agent.total_steps=64",
            "agent.n_steps=32", "agent.batch_size=32", "agent.checkpoint_every=32",
            "agent.eval_episodes=1", "agent.normalize_reward=true"]
    code, out, err = run_gamengen(tmp_path, "agent", sets=sets)
    assert code == 0, out + err
    ckpts = tmp_path / "agent" / "checkpoints"
    stats = ckpts / "ppo-000000032.pkl"
    assert stats.is_file() and (ckpts / "ppo-000000064.pkl").is_file()
    with open(stats, "rb") as f:
        assert pickle.load(f).ret_rms.count > 1  # it saw the returns of the first 32 steps

    (ckpts / "ppo-000000064.zip").unlink()  # as if it had died after the checkpoint at 32
    (tmp_path / "manifest.json").unlink()
    code, out, err = run_gamengen(tmp_path, "agent", sets=sets)
    assert code == 0, out + err
    assert "reward statistics from ppo-000000032.pkl" in out
    assert "resuming from ppo-000000032.zip" in out
    assert list(systmp.glob("SB3-*")) == []  # the agent logs in memory, no empty folders in /tmp


def test_agent_checkpoints_and_resumes_after_an_interruption(tmp_path, run_gamengen):
    """An interrupted agent run goes on from its last checkpoint and keeps its episodes."""
    sets = [
        "env.name=gridchase",
        "env.max_steps=20",
        "agent.num_envs=1",
        "agent.total_steps=96",
        "agent.n_steps=32",
        "agent.batch_size=32",
        "agent.checkpoint_every=32",
    ]
    code, out, err = run_gamengen(tmp_path, "agent", sets=sets)
    assert code == 0, out + err
    agent = tmp_path / "agent"
    ckpts = sorted(p.name for p in (agent / "checkpoints").glob("*.zip"))
    assert ckpts == ["ppo-000000032.zip", "ppo-000000064.zip", "ppo-000000096.zip"]
    first = EpisodeStore(agent / "episodes").episode_ids()
    assert len(first) >= 3  # 96 steps of ≤20-step episodes

    # as if it had died after the checkpoint at 64 steps
    (agent / "checkpoints" / "ppo-000000096.zip").unlink()
    (agent / "policy.zip").unlink()
    (tmp_path / "manifest.json").unlink()
    code, out, err = run_gamengen(tmp_path, "agent", sets=sets)
    assert code == 0, out + err
    assert "resuming from ppo-000000064.zip (64 steps done)" in out
    assert (agent / "policy.zip").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["agent"]["steps"] == 96
    again = EpisodeStore(agent / "episodes").episode_ids()
    assert again[: len(first)] == first and len(again) > len(first)  # kept, then added to
    assert len(again) == len(set(again))


@pytest.mark.slow
def test_agent_is_scored_next_to_random_on_the_same_seeds(app, tmp_path):
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from almost_gamengen.config import tiny
    from almost_gamengen.data.make_env import describe, env_spec
    from almost_gamengen.data.policies import PolicyFrames
    from almost_gamengen.stages.agent import evaluate_against_random

    cfg = tiny()
    spec = env_spec(app.registry, attrs.evolve(cfg.env, max_steps=20))
    env = spec.make()
    facts = describe(env)
    vec = DummyVecEnv([lambda: PolicyFrames(env)])
    try:
        model = PPO("CnnPolicy", vec, n_steps=16, batch_size=16, seed=0, device="cpu")
        model.save(tmp_path / "p.zip")
    finally:
        vec.close()
    a = evaluate_against_random(spec, tmp_path / "p.zip", facts, 0, 3)
    b = evaluate_against_random(spec, tmp_path / "p.zip", facts, 0, 3)
    assert a == b  # same seeds, seeded policies: the same numbers
    for k in ("return_mean", "return_std", "return_random", "return_random_std", "return_gain_sigma"):
        assert np.isfinite(a[k])
