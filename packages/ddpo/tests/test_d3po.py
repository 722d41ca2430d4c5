"""trainer/ddpo-d3po: D3PO learns from the rated pairs (no reward model), moves the policy toward
the preferred images' trajectories (and away when the votes are flipped), and resumes from its
checkpoint to the same tensors as a run never stopped."""

from __future__ import annotations

import attrs
import pytest
import torch

from almost.registry import Registry
from almost.runs import Pipeline, RunContext
from almost_ddpo.config import tiny
from almost_ddpo.plugin import register_components

PROMPTS = ["a red circle", "a blue square"]


class Brightness:
    """Mean brightness: the toy preference (brighter wins) and the before/after yardstick."""

    name = "brightness"

    def __call__(self, images, prompts):
        return images.float().mean(dim=(1, 2, 3))


def _ctx(run_dir, model_dir, stage, **policy_kw):
    cfg = tiny()
    cfg = attrs.evolve(
        cfg, reward="brightness",
        model=attrs.evolve(cfg.model, path=str(model_dir)),
        generate=attrs.evolve(cfg.generate, prompts=PROMPTS, images_per_prompt=8, steps=3, batch_size=16),
        policy=attrs.evolve(cfg.policy, **{
            "trainer": "ddpo-d3po", "epochs": 4, "samples_per_epoch": 16, "sample_batch_size": 16,
            "train_batch_size": 8, "timestep_fraction": 1.0, "checkpoint_every": 2, "eval_images_per_prompt": 1,
            "lora_rank": 2, "lora_alpha": 4.0, "lr": 1e-3, **policy_kw}),
    )
    reg = Registry()
    register_components(reg)
    reg.add("reward", "brightness", Brightness)
    pipe = Pipeline(name="ddpo", stages=[], profiles={"tiny": tiny}, rounds=True)
    return RunContext(pipeline=pipe, config=cfg, run_dir=run_dir, profile="tiny", registry=reg, stage_name=stage)


def _rated_run(run_dir, model_dir, flip=False):
    """Generate 8 images per prompt; vote on pairs of one prompt: the brighter one wins (or loses)."""
    import numpy as np
    from PIL import Image

    from almost_ddpo.scores import RatingView, run_log
    from almost_ddpo.stages import generate

    generate.run(_ctx(run_dir, model_dir, "generate"))
    images = run_dir / "round-001" / "generate" / "images"
    view = RatingView(run_log(run_dir), images, run_dir)
    names = sorted(view.key_of)
    light = {n: float(np.asarray(Image.open(images / n), dtype=np.float32).mean()) for n in names}
    for p in range(len(PROMPTS)):
        mine = names[p * 8:(p + 1) * 8]
        for a, b in zip(mine[0::2], mine[1::2]):
            left_wins = (light[a] > light[b]) != flip
            view.append({"kind": "pair", "left": a, "right": b, "winner": "left" if left_wins else "right"})
    return run_dir


def _margins(run_dir, model_dir):
    """Per rated pair, the trained policy's log-ratio margin of winner over loser (ref: 0)."""
    from almost.train.checkpoint import load_safetensors
    from almost_ddpo.lora import load_lora_into
    from almost_ddpo.trainers.base import PolicyRun
    from almost_ddpo.trainers.d3po import pair_margins

    out = run_dir / "round-001" / "policy"
    data = load_safetensors(out / "d3po_pairs.safetensors")
    ctx = _ctx(run_dir, model_dir, "policy")
    run = PolicyRun(ctx)  # a fresh LoRA (B = 0): exactly the reference
    reference = pair_margins(run, data)
    run.unet.delete_adapters("default")
    load_lora_into(run.unet, out / "lora")
    return reference, pair_margins(run, data)


@pytest.mark.slow
@pytest.mark.parametrize("flip", [False, True])
def test_d3po_moves_the_policy_toward_the_preferred_images(tmp_path, tiny_model_dir, flip):
    from almost.io import read_json
    from almost_ddpo.stages import policy

    run = _rated_run(tmp_path / "run", tiny_model_dir, flip=flip)
    policy.run(_ctx(run, tiny_model_dir, "policy"))
    metrics = read_json(run / "metrics.json")["policy"]
    assert metrics["pairs"] == 8 and {"reward_before", "reward_after", "last_epoch_accuracy"} <= set(metrics)
    reference, trained = _margins(run, tiny_model_dir)
    assert torch.allclose(reference, torch.zeros_like(reference), atol=1e-6)  # the reference is the start
    # the policy now prefers each pair's winner: the brighter image, or with flipped votes the
    # darker one (so it follows the votes, not a drift of its own)
    assert trained.mean() > 0, trained
    assert (trained > 0).float().mean() >= 0.75, trained


@pytest.mark.slow
def test_d3po_resumes_from_its_checkpoint_to_the_same_tensors(tmp_path, tiny_model_dir, monkeypatch):
    from almost.io import read_json
    from almost.train.checkpoint import load_safetensors
    from almost_ddpo.stages import policy
    from almost_ddpo.trainers import d3po

    straight = _rated_run(tmp_path / "a", tiny_model_dir)
    policy.run(_ctx(straight, tiny_model_dir, "policy"))

    stopped = _rated_run(tmp_path / "b", tiny_model_dir)
    real_epoch = d3po.D3poTrainer.epoch

    def interrupted(self, run, opt, data, epoch):
        if epoch == 2:
            raise KeyboardInterrupt  # a Ctrl-C in epoch 3, after the checkpoint of epoch 2
        return real_epoch(self, run, opt, data, epoch)

    monkeypatch.setattr(d3po.D3poTrainer, "epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        policy.run(_ctx(stopped, tiny_model_dir, "policy"))
    out = stopped / "round-001" / "policy"
    assert sorted(p.name for p in (out / "checkpoints").glob("step-*")) == ["step-00000002"]
    monkeypatch.setattr(d3po.D3poTrainer, "epoch", real_epoch)
    policy.run(_ctx(stopped, tiny_model_dir, "policy"))
    assert [h["epoch"] for h in read_json(out / "history.json")] == [1, 2, 3, 4]
    a = load_safetensors(straight / "round-001" / "policy" / "lora" / "adapter_model.safetensors")
    b = load_safetensors(out / "lora" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.endswith("lora_B.weight") and a[k].abs().sum() > 0 for k in a)  # it did train
    ha = read_json(straight / "round-001" / "policy" / "history.json")
    hb = read_json(out / "history.json")
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]
