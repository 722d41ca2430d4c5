"""DDPO policy stage: it moves the LoRA, and an interrupted run resumes from its mid-run
checkpoint with the same epoch count, deleting nothing."""

from __future__ import annotations

import attrs
import pytest
import torch

from almost.registry import Registry
from almost.runs import Pipeline, RunContext
from almost_ddpo.config import tiny
from almost_ddpo.plugin import register_components


class FlakyBrightness:
    """Mean brightness; raises KeyboardInterrupt on call number ``fail_at`` (a user's Ctrl-C)."""

    name = "flaky"

    def __init__(self, calls: list, fail_at: int | None = None):
        self.calls, self.fail_at = calls, fail_at

    def __call__(self, images, prompts):
        self.calls.append(len(prompts))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise KeyboardInterrupt
        return images.float().mean(dim=(1, 2, 3))


def _ctx(tmp_path, model_dir, fail_at=None, calls=None):
    cfg = tiny()
    cfg = attrs.evolve(
        cfg, reward="flaky",
        model=attrs.evolve(cfg.model, path=str(model_dir)),
        generate=attrs.evolve(cfg.generate, prompts=["a red circle", "a blue square"]),
        policy=attrs.evolve(cfg.policy, epochs=4, samples_per_epoch=4, sample_batch_size=4, train_batch_size=2,
                            steps=3, timestep_fraction=0.67, checkpoint_every=2, eval_images_per_prompt=1,
                            lora_rank=2, lora_alpha=4.0, lr=3e-3),
    )
    reg = Registry()
    register_components(reg)  # the trainers the policy stage builds, as the plugin registers them
    reg.add("reward", "flaky", lambda: FlakyBrightness(calls if calls is not None else [], fail_at))
    pipe = Pipeline(name="ddpo", stages=[], profiles={"tiny": tiny}, rounds=True)
    return RunContext(pipeline=pipe, config=cfg, run_dir=tmp_path, profile="tiny", registry=reg,
                      stage_name="policy")


@pytest.mark.slow
def test_interrupted_policy_resumes_from_its_checkpoint_and_deletes_nothing(tmp_path, tiny_model_dir):
    from almost.io import read_json
    from almost_ddpo.stages import policy

    calls: list = []
    # calls: 1 = reward before, 2..5 = epochs 1..4; interrupt while sampling epoch 3
    with pytest.raises(KeyboardInterrupt):
        policy.run(_ctx(tmp_path, tiny_model_dir, fail_at=4, calls=calls))
    out = tmp_path / "round-001" / "policy"
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("step-"))
    assert ckpts == ["step-00000002"]
    history = read_json(out / "history.json")
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(set(h) >= {"reward_mean", "reward_std", "approx_kl", "clipfrac"} for h in history)
    saved_lora = (out / "checkpoints" / "step-00000002" / "lora.safetensors").read_bytes()
    before_file = (out / "eval_before.safetensors").read_bytes()

    calls2: list = []
    policy.run(_ctx(tmp_path, tiny_model_dir, calls=calls2))
    assert len(calls2) == 2 + 1  # epochs 3 and 4, then the "after" evaluation; "before" is reused
    history = read_json(out / "history.json")
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir() if p.name.startswith("step-"))
    assert ckpts == ["step-00000002", "step-00000004"]  # nothing deleted
    assert (out / "checkpoints" / "step-00000002" / "lora.safetensors").read_bytes() == saved_lora
    assert (out / "eval_before.safetensors").read_bytes() == before_file
    state = read_json(out / "checkpoints" / "step-00000004" / "almost_state.json")
    assert state["epoch"] == 4 and len(state["history"]) == 4
    # the LoRA moved away from its zero-initialised B during training
    from almost.train.checkpoint import load_safetensors

    lora = load_safetensors(out / "lora" / "adapter_model.safetensors")
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in lora.items())
    metrics = read_json(tmp_path / "metrics.json")["policy"]
    assert {"reward_before", "reward_after"} <= set(metrics)
    assert (out / "before_after.png").is_file()
    assert torch.isfinite(torch.tensor([metrics["reward_before"], metrics["reward_after"]])).all()


def _lora_after(tmp_path, model_dir, **policy_kw):
    from almost.train.checkpoint import load_safetensors
    from almost_ddpo.stages import policy

    ctx = _ctx(tmp_path, model_dir)
    ctx.config = attrs.evolve(ctx.config, policy=attrs.evolve(
        ctx.config.policy, epochs=1, samples_per_epoch=4, sample_batch_size=4, steps=2, timestep_fraction=1.0,
        checkpoint_every=1, **policy_kw))
    policy.run(ctx)
    return load_safetensors(tmp_path / "round-001" / "policy" / "lora" / "adapter_model.safetensors")


@pytest.mark.slow
def test_gradient_accumulation_sums_batches_into_one_step(tmp_path, tiny_model_dir):
    """ddpo-pytorch's semantics: 2 batches of 2 accumulated = one step on the batch of 4; without
    accumulation the same data takes two optimizer steps and lands elsewhere. The same config
    twice gives bitwise-equal LoRA tensors (seeded init, seeded sampling)."""
    one = _lora_after(tmp_path / "a", tiny_model_dir, train_batch_size=4, gradient_accumulation_steps=1)
    acc = _lora_after(tmp_path / "b", tiny_model_dir, train_batch_size=2, gradient_accumulation_steps=2)
    two = _lora_after(tmp_path / "c", tiny_model_dir, train_batch_size=2, gradient_accumulation_steps=1)
    again = _lora_after(tmp_path / "d", tiny_model_dir, train_batch_size=2, gradient_accumulation_steps=1)
    assert all(torch.allclose(one[k], acc[k], atol=1e-6) for k in one)
    assert any(not torch.allclose(one[k], two[k], atol=1e-6) for k in one if "lora_B" in k)
    assert all(torch.equal(two[k], again[k]) for k in two)


class NanReward:
    name = "nan"

    def __call__(self, images, prompts):
        return torch.full((len(prompts),), float("nan"))


def test_non_finite_loss_stops_policy_with_one_sentence(tmp_path, tiny_model_dir):
    from almost.errors import UserError
    from almost_ddpo.stages import policy

    ctx = _ctx(tmp_path, tiny_model_dir)
    ctx.registry.add("reward", "nan", NanReward)
    ctx.config = attrs.evolve(ctx.config, reward="nan", policy=attrs.evolve(
        ctx.config.policy, epochs=2, samples_per_epoch=2, sample_batch_size=2, steps=2, checkpoint_every=1))
    # no checkpoint was saved, and the message says so (it claimed "the last good checkpoint is kept")
    with pytest.raises(UserError, match=r"policy: the (loss|reward) of epoch 1 became nan; no checkpoint was saved"):
        policy.run(ctx)
    assert not list((tmp_path / "round-001" / "policy" / "checkpoints").glob("step-*"))
