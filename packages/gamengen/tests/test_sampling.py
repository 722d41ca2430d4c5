""":mod:`almost_gamengen.model.sampling`: the sample settings come from the run's config in one
place. (How guidance samples is pinned in test_world_model.py, beside the model's own drop and
hide functions that it must match.)"""

from __future__ import annotations

import attrs

from almost_gamengen.config import full, tiny
from almost_gamengen.model.sampling import SampleSettings


def test_sample_settings_come_from_the_rollout_config_in_one_place():
    r = tiny().rollout
    assert (r.ddim_steps, r.play_steps) == (1, 2)
    assert SampleSettings.of(r) == SampleSettings(1, r.context_noise, r.guidance_scale, r.action_guidance)
    assert SampleSettings.of(r, play=True) == attrs.evolve(SampleSettings.of(r), steps=2)  # what play shows
    assert SampleSettings.of(attrs.evolve(r, play_steps=0), play=True).steps == 1  # 0: the metrics' steps
    assert SampleSettings.of(r, play=True, steps=5).steps == 5  # --steps wins
    guided = attrs.evolve(full().rollout, context_noise=0.1, action_guidance=1.5)
    assert SampleSettings.of(guided) == SampleSettings(4, 0.1, 1.5, 1.5)
