"""Metrics that can fail: action sensitivity, copy-through-VAE, disjoint seeds, the delta target,
agent-vs-random, a rollout that stays on its device."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
import torch

from almost_gamengen.data.seeds import STREAMS, game_seed, stream_of
from almost_gamengen.model.probe import branch_scores, pair_sq


def _branches(k=3, a=5, h=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(a, h, 3, 6, 8, generator=g) for _ in range(k)]


def test_a_copier_scores_zero_sensitivity_and_the_game_itself_scores_one():
    real = _branches()
    copier = [r[:1].expand_as(r).clone() for r in real]  # every action: the same frames
    s = branch_scores(copier, real)
    assert s["action_sensitivity"] == pytest.approx(0.0, abs=1e-6)
    assert s["action_nearest_rate"] <= 1 / real[0].shape[0] + 1e-9  # only where it is that branch
    perfect = branch_scores([r.clone() for r in real], real)
    assert perfect["action_sensitivity"] == pytest.approx(1.0, rel=1e-5)
    assert perfect["action_nearest_rate"] == 1.0
    # branches with the right spread but the wrong action: sensitive, yet never nearest
    shuffled = branch_scores([r.roll(1, dims=0) for r in real], real)
    assert shuffled["action_sensitivity"] == pytest.approx(1.0, rel=1e-5)
    assert shuffled["action_nearest_rate"] == 0.0


def test_pair_sq_is_the_mean_squared_difference():
    x = torch.rand(4, 2, 3, 5)
    d = pair_sq(x)
    assert d[1, 2] == pytest.approx(float((x[1] - x[2]).pow(2).mean()), rel=1e-4)
    assert torch.allclose(d.diagonal(), torch.zeros(4), atol=1e-6)


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


def test_delta_target_round_trips_and_copy_is_zero():
    from almost_gamengen.config_model import ModelConfig
    from almost_gamengen.model.world_model import build_world_model

    mcfg = attrs.evolve(ModelConfig.tiny(), context=2, block_out_channels=[16, 16], action_dim=16,
                        predict_delta=True, delta_scale=2.0, action_time_cond=True)
    model = build_world_model(mcfg, 3, (4, 4), seed=0)
    ctx = torch.randn(2, 2, 4, 4, 4)
    x = torch.randn(2, 4, 4, 4)
    t = model.to_target(x, ctx)
    assert torch.allclose(model.from_target(t, ctx), x, atol=1e-6)
    assert torch.equal(model.to_target(ctx[:, -1], ctx), torch.zeros_like(x))
    # the last action reaches the timestep embedding: changing it changes the output
    noisy, ts = torch.randn(2, 4, 4, 4), torch.full((2,), 500)
    a1, a2 = torch.tensor([[0, 1], [0, 1]]), torch.tensor([[0, 2], [0, 2]])
    with torch.no_grad():
        assert not torch.allclose(model(noisy, ts, ctx, a1), model(noisy, ts, ctx, a2))
    assert model.unet.config.time_cond_proj_dim == 16


@pytest.mark.slow
def test_probe_on_the_real_game_a_copier_scores_zero(monkeypatch, app):
    """The probe end to end on ViZDoom with a model that copies its last context latent."""
    from almost_gamengen.config import tiny
    from almost_gamengen.data.make_env import env_spec
    from almost_gamengen.model import sampling
    from almost_gamengen.model.probe import action_sensitivity
    from almost_gamengen.model.sampling import make_scheduler
    from almost_gamengen.model.vae import FrameCodec, build_tiny_vae
    from almost_gamengen.model.world_model import build_world_model

    cfg = tiny()
    env_cfg = attrs.evolve(cfg.env, max_steps=60)
    spec = env_spec(app.registry, env_cfg)
    torch.manual_seed(0)
    vae = build_tiny_vae([8, 8, 8], (48, 64)).eval()
    mcfg = attrs.evolve(cfg.model, context=2, block_out_channels=[16, 16], action_dim=16)
    model = build_world_model(mcfg, 8, (12, 16), seed=0, meta={"latent_shape": [4, 12, 16],
                                                                "noop_action": 0,
                                                                "action_names": spec.make().action_names}).eval()
    sched = make_scheduler(dict(__import__("almost_gamengen.model.world_model", fromlist=["x"])
                                .noise_scheduler_config(1000)))
    monkeypatch.setattr(sampling.Sampler, "next_latent", lambda self, ctx, *a, **k: ctx[:, -1].clone())
    out = action_sensitivity(sampling.Sampler(model, sched, sampling.SampleSettings(steps=1)),
                             FrameCodec(vae, (48, 64), (48, 64)), spec, seed=0, states=2, horizon=3)
    assert out["action_probe_replay_deterministic"] == 1.0  # replays reach the same state
    assert out["action_divergence_real"] > 0  # the game's branches do differ
    assert out["action_sensitivity"] == pytest.approx(0.0, abs=1e-9)
    assert out["action_nearest_rate"] < 0.75, out


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
