"""Per-prompt reward normalisation (DDPO advantages)."""

from __future__ import annotations

import numpy as np

from almost_ddpo.advantages import PerPromptStatTracker, batch_advantages


def test_per_prompt_normalisation_uses_each_prompts_own_statistics():
    tracker = PerPromptStatTracker(buffer_size=32, min_count=2)
    prompts = ["a"] * 4 + ["b"] * 4
    rewards = np.array([1.0, 2.0, 3.0, 4.0, 100.0, 110.0, 120.0, 130.0])
    adv = tracker.update(prompts, rewards)
    for p in "ab":
        m = np.array([q == p for q in prompts])
        assert abs(adv[m].mean()) < 1e-6
        assert abs(adv[m].std() - 1) < 1e-3
    # batch normalisation would rank every "b" above every "a"; per prompt they interleave
    assert (batch_advantages(rewards)[4:] > 0).all() and (adv[4:] > 0).sum() == 2


def test_rare_prompts_fall_back_to_batch_statistics_and_state_round_trips():
    tracker = PerPromptStatTracker(buffer_size=4, min_count=3)
    adv = tracker.update(["a", "a", "b"], [0.0, 2.0, 10.0])
    np.testing.assert_allclose(adv, batch_advantages([0.0, 2.0, 10.0]), atol=1e-6)
    tracker.update(["a"] * 3, [1.0, 1.0, 1.0])
    assert len(tracker.buffers["a"]) == 4  # the buffer keeps the last buffer_size rewards
    other = PerPromptStatTracker(buffer_size=4, min_count=3)
    other.load_state_dict(tracker.state_dict())
    np.testing.assert_allclose(other.update(["a"], [5.0]), tracker.update(["a"], [5.0]))
