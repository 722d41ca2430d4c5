""":mod:`almost_gamengen.model.probe`, the action-sensitivity probe: metrics that can fail (a copier
scores zero, the game itself one)."""

from __future__ import annotations

import attrs
import pytest
import torch

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
