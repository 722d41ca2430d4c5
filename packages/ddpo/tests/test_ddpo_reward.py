"""The reward stage (latent CNN, held-out split, missing images) and reward/human as a component."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
from PIL import Image

from almost.pipeline import Pipeline, RunContext
from almost.registry import Registry
from almost.testing import check_reward_model
from almost_ddpo.config import tiny
from almost_ddpo.rewards import register
from almost_ddpo.shapes import render


def _ctx(tmp_path, model_dir, loss="mse"):
    cfg = tiny()
    cfg = attrs.evolve(cfg, model=attrs.evolve(cfg.model, path=str(model_dir)),
                       reward_model=attrs.evolve(cfg.reward_model, epochs=4, patience=2, loss=loss))
    reg = Registry()
    register(reg)
    return RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=cfg,
                      run_dir=tmp_path, profile="tiny", registry=reg, stage_name="reward")


def _round(tmp_path, n=10):
    images = tmp_path / "round-001" / "generate" / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    scores = {}
    for i in range(n):
        Image.fromarray(render("red", "circle", 32, rng)).save(images / f"{i:05d}.png")
        scores[f"{i:05d}.png"] = int(i % 11) - 5
    scores["gone.png"] = 5  # scored, but its image was deleted
    score_dir = tmp_path / "round-001" / "score"
    score_dir.mkdir(parents=True)
    (score_dir / "scores.json").write_text(json.dumps(scores))


@pytest.mark.parametrize("loss", ["mse", "bradley-terry"])
def test_reward_stage_reports_missing_images_and_keeps_the_best_epoch(tmp_path, tiny_model_dir, loss):
    from almost.io import read_json
    from almost_ddpo.stages import reward

    _round(tmp_path)
    ctx = _ctx(tmp_path, tiny_model_dir, loss)
    reward.run(ctx)
    m = read_json(tmp_path / "metrics.json")["reward"]
    assert m["missing_images"] == 1
    assert m["train_images"] + m["heldout_images"] == 10  # the missing one is not trained as a zero
    out = tmp_path / "round-001" / "reward"
    hist = read_json(out / "history.json")
    best = min(range(len(hist)), key=lambda i: hist[i]["heldout_loss"])
    assert read_json(out / "reward_cnn.json")["epoch"] == hist[best]["epoch"] == m["best_epoch"]

    human = ctx.component("reward/human", model_dir=out)
    r = check_reward_model(human, prompts=["a red circle"] * 3)
    assert r.shape == (3,)
