"""The reward stage (latent CNN, held-out split, missing images) and reward/human as a component."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
from PIL import Image

from almost.registry import Registry
from almost.runs import Pipeline, RunContext
from almost.testing import check_reward_model
from almost_ddpo.config import tiny
from almost_ddpo.plugin import register_components as register
from almost_ddpo.shapes import render


def _ctx(tmp_path, model_dir, loss="mse", **reward_kw):
    cfg = tiny()
    cfg = attrs.evolve(cfg, model=attrs.evolve(cfg.model, path=str(model_dir)),
                       reward_model=attrs.evolve(cfg.reward_model, epochs=4, patience=2, loss=loss, **reward_kw))
    reg = Registry()
    register(reg)
    return RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=cfg,
                      run_dir=tmp_path, profile="tiny", registry=reg, stage_name="reward", round=2)


def _images(tmp_path, rnd, n, seed):
    images = tmp_path / f"round-{rnd:03d}" / "generate" / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(render("red", "circle", 32, rng)).save(images / f"{i:05d}.png")
        (images / f"{i:05d}.json").write_text(json.dumps({"prompt": "a red circle"}))
    return images


def _two_rounds(tmp_path):
    """Round 1: 8 images with absolute scores (one file later deleted); round 2: 6 images with
    pairwise votes only. Same file names in both rounds, different pictures."""
    from almost_ddpo.scores import RatingView, run_log

    log = run_log(tmp_path)
    v1 = RatingView(log, _images(tmp_path, 1, 8, 0), tmp_path)
    for i in range(8):
        v1.append({"kind": "score", "image": f"{i:05d}.png", "score": i - 4, "annotator": "me"})
    v2 = RatingView(log, _images(tmp_path, 2, 6, 1), tmp_path)
    for i in range(5):
        v2.append({"kind": "pair", "left": f"{i:05d}.png", "right": f"{i + 1:05d}.png",
                   "winner": "left" if i % 2 else "right", "annotator": "me"})
    (tmp_path / "round-001" / "generate" / "images" / "00007.png").unlink()  # scored, then deleted


@pytest.mark.parametrize("loss", ["mse", "bradley-terry"])
def test_reward_trains_on_both_rounds_labels_with_separate_selection_and_heldout(tmp_path, tiny_model_dir, loss):
    from almost.io import read_json
    from almost_ddpo.stages import reward

    _two_rounds(tmp_path)
    ctx = _ctx(tmp_path, tiny_model_dir, loss, val_fraction=0.2, holdout_fraction=0.2, pool=8)
    reward.run(ctx)
    m = read_json(tmp_path / "metrics.json")["reward"]
    assert m["missing_images"] == 1
    assert m["scores"] == 7 and m["votes"] == 5 and m["rounds_labelled"] == 2
    assert m["labelled_images"] == 7 + 6  # round 2's images have only votes, and are used
    assert m["train_images"] + m["val_images"] + m["heldout_images"] == 13
    assert m["val_images"] >= 1 and m["heldout_images"] >= 1
    out = tmp_path / "round-002" / "reward"
    hist = read_json(out / "history.json")
    best = min(range(len(hist)), key=lambda i: hist[i]["val_loss"])
    rec = read_json(out / "reward_cnn.json")
    assert rec["epoch"] == hist[best]["epoch"] == m["best_epoch"]
    assert rec["pool"] >= 1 and rec["text_dim"] > 0  # spatial grid kept; prompt-conditioned by default

    human = ctx.component("reward/human", model_dir=out)
    r = check_reward_model(human, prompts=["a red circle"] * 3)
    assert r.shape == (3,)


def test_votes_alone_train_the_model(tmp_path, tiny_model_dir):
    """Pairwise votes without any absolute score still give a gradient (Bradley–Terry term)."""
    import torch

    from almost.train.checkpoint import load_safetensors
    from almost_ddpo.scores import RatingView, run_log
    from almost_ddpo.stages import reward

    v = RatingView(run_log(tmp_path), _images(tmp_path, 2, 8, 3), tmp_path)
    for i in range(7):
        v.append({"kind": "pair", "left": f"{i:05d}.png", "right": f"{i + 1:05d}.png", "winner": "left"})
    ctx = _ctx(tmp_path, tiny_model_dir, val_fraction=0.0, holdout_fraction=0.25, prompt_conditioned=True)
    torch.manual_seed(0)
    reward.run(ctx)
    from almost.io import read_json

    m = read_json(tmp_path / "metrics.json")["reward"]
    assert m["scores"] == 0 and m["votes"] == 7
    sd = load_safetensors(tmp_path / "round-002" / "reward" / "reward_cnn.safetensors")
    assert "text.weight" in sd  # prompt-conditioned head


def test_too_few_labels_is_one_sentence(tmp_path, tiny_model_dir):
    from almost.errors import UserError
    from almost_ddpo.scores import RatingView, run_log
    from almost_ddpo.stages import reward

    v = RatingView(run_log(tmp_path), _images(tmp_path, 2, 3, 0), tmp_path)
    v.append({"kind": "score", "image": "00000.png", "score": 1})
    with pytest.raises(UserError, match="label at least 4 images"):
        reward.run(_ctx(tmp_path, tiny_model_dir))
