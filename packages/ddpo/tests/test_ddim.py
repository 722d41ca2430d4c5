"""DDIM step log-probabilities against an independent computation with diffusers' own step."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDIMScheduler

from almost_ddpo.ddim import ddim_step_with_logprob, sample


def _scheduler(prediction_type="epsilon"):
    s = DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085,
                      beta_end=0.012, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                      prediction_type=prediction_type)
    s.set_timesteps(10)
    return s


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("step_index", [0, 4, 9])
def test_logprob_matches_diffusers_step_and_normal_density(prediction_type, step_index):
    sched = _scheduler(prediction_type)
    g = torch.Generator().manual_seed(step_index)
    x_t = torch.randn(3, 4, 8, 8, generator=g)
    eps = torch.randn(3, 4, 8, 8, generator=g)
    t = sched.timesteps[step_index]
    eta = 1.0
    # independent: diffusers' step with zero noise gives the mean; its variance gives σ
    mean = sched.step(eps, t, x_t, eta=eta, variance_noise=torch.zeros_like(x_t)).prev_sample
    prev_t = t - sched.config.num_train_timesteps // sched.num_inference_steps
    std = eta * sched._get_variance(t, prev_t) ** 0.5
    noise = torch.randn(3, 4, 8, 8, generator=g)
    x_prev_ref = sched.step(eps, t, x_t, eta=eta, variance_noise=noise).prev_sample
    ref = torch.distributions.Normal(mean.double(), float(std)).log_prob(x_prev_ref.double()).mean(dim=(1, 2, 3))

    x_prev, logp = ddim_step_with_logprob(sched, eps, t, x_t, eta, prev_sample=x_prev_ref)
    assert torch.allclose(logp.double(), ref, atol=1e-4), (logp, ref)
    assert torch.equal(x_prev, x_prev_ref)
    # drawing the sample itself with the same noise reproduces diffusers' prev_sample
    gens = [torch.Generator().manual_seed(100 + i) for i in range(3)]
    drawn, _ = ddim_step_with_logprob(sched, eps, t, x_t, eta, generators=gens)
    noise2 = torch.stack([torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(100 + i)) for i in range(3)])
    assert torch.allclose(drawn, sched.step(eps, t, x_t, eta=eta, variance_noise=noise2).prev_sample, atol=1e-5)


def test_logprob_is_highest_at_the_mean_and_per_sample_timesteps_work():
    sched = _scheduler()
    x_t = torch.randn(2, 4, 8, 8)
    eps = torch.randn(2, 4, 8, 8)
    t = sched.timesteps[3]
    mean = sched.step(eps, t, x_t, eta=1.0, variance_noise=torch.zeros_like(x_t)).prev_sample
    _, at_mean = ddim_step_with_logprob(sched, eps, t, x_t, 1.0, prev_sample=mean)
    _, off = ddim_step_with_logprob(sched, eps, t, x_t, 1.0, prev_sample=mean + 0.1)
    assert (at_mean > off).all()
    # a (B,) tensor of timesteps gives the same as the scalar
    _, per = ddim_step_with_logprob(sched, eps, torch.stack([t, t]), x_t, 1.0, prev_sample=mean + 0.1)
    assert torch.allclose(per, off)
    # and the density of an isotropic Gaussian at its mean: -log σ - log √(2π)
    prev_t = t - 100
    sigma = sched._get_variance(t, prev_t) ** 0.5
    assert torch.allclose(at_mean, torch.full((2,), -math.log(float(sigma)) - 0.5 * math.log(2 * math.pi)), atol=1e-4)


def test_sampler_with_logprob_gives_the_same_images_as_plain_ddim(tiny_pipe):
    from almost_ddpo.encoding import encode_prompts

    pipe = tiny_pipe
    cond = encode_prompts(pipe, ["a red circle", "a blue square"])
    uncond = encode_prompts(pipe, ["", ""])
    gens = lambda: [torch.Generator().manual_seed(s) for s in (1, 2)]  # noqa: E731
    lat, traj, logp, ts = sample(pipe.unet, pipe.scheduler, cond, uncond, (4, 8, 8), steps=4, guidance=2.0,
                                 eta=1.0, generators=gens())
    plain, *_ = sample(pipe.unet, pipe.scheduler, cond, uncond, (4, 8, 8), steps=4, guidance=2.0, eta=1.0,
                       generators=gens(), with_logprob=False)
    assert traj.shape == (2, 5, 4, 8, 8) and logp.shape == (2, 4) and len(ts) == 4
    assert torch.allclose(lat, plain, atol=1e-4)
    assert torch.isfinite(logp).all()
    # the image depends on its own seed only, not on its batch neighbours
    alone, *_ = sample(pipe.unet, pipe.scheduler, cond[:1], uncond[:1], (4, 8, 8), steps=4, guidance=2.0,
                       eta=1.0, generators=[torch.Generator().manual_seed(1)])
    assert torch.allclose(alone[0], lat[0], atol=1e-4)
