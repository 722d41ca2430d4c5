"""Shared fixtures: a tiny SD-layout model folder built from configs (untrained, seeded)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ALMOST_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from almost_ddpo.loaders import build_tiny, save_pipeline
    from almost_ddpo.shapes import vocabulary

    path = tmp_path_factory.mktemp("tiny-sd") / "model"
    unet, vae, te, tok, sched = build_tiny(vocabulary(), image_size=32, seed=0)
    save_pipeline(path, unet, vae, te, tok, sched)
    return path


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model_dir):
    from almost_ddpo.loaders import load_pipeline

    return load_pipeline(tiny_model_dir)
