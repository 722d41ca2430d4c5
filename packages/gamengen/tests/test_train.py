"""Stage ``train`` (:mod:`almost_gamengen.stages.train`): parameters move, a resumed run continues
from the same step exactly; and the model stages end to end on a synthetic game (the trained
model beats the untrained)."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
import torch

from almost import Pipeline
from almost.errors import UserError
from almost.runs import RunContext
from almost_gamengen.config import tiny
from almost_gamengen.model.latents import shard_name, write_index, write_shard

PIPE = Pipeline(name="gamengen", stages=[], profiles={})


def small_config(steps, **train):
    cfg = tiny()
    model = attrs.evolve(cfg.model, context=2, block_out_channels=[16, 16], action_dim=16)
    return attrs.evolve(cfg, model=model, train=attrs.evolve(
        cfg.train, steps=steps, batch_size=4, checkpoint_every=2, warmup_steps=1, **train))


def ctx_for(run_dir, cfg, stage):
    return RunContext(pipeline=PIPE, config=cfg, run_dir=run_dir, profile="tiny", registry=None,
                      stage_name=stage)


def fake_latents(run_dir, episodes=4, length=10):
    root = run_dir / "encode" / "latents"
    g = torch.Generator().manual_seed(0)
    lat = torch.randn(episodes * length, 4, 4, 4, generator=g)
    write_shard(root / shard_name(0), lat, np.arange(episodes * length) % 3)
    eps = [{"id": f"collect:{e}", "source": "collect", "episode_id": e, "shard": 0,
            "start": e * length, "length": length} for e in range(episodes)]
    write_index(root, latent_shape=(4, 4, 4), dtype="float32", scaling_factor=1.0,
                action_names=["noop", "left", "right"], noop_action=0, frame_shape=(16, 16, 3),
                shards=[{"file": shard_name(0), "frames": episodes * length}], episodes=eps, vae="../vae")


def weights(run_dir):
    from almost.train.checkpoint import load_safetensors

    return load_safetensors(run_dir / "train/model/unet/diffusion_pytorch_model.safetensors")


def test_resume_continues_from_the_same_step(tmp_path):
    from almost_gamengen.stages import train

    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        fake_latents(d)
    # a constant rate: the "interruption" below is a shorter run, and a cosine schedule's shape
    # depends on train.steps (tests/faults/test_kill9.py kills the default schedule for real)
    train.run(ctx_for(a, small_config(6, lr_schedule="constant"), "train"))  # uninterrupted
    train.run(ctx_for(b, small_config(4, lr_schedule="constant"), "train"))  # "interrupted" after step 4 ...
    assert sorted(p.name for p in (b / "train/checkpoints").iterdir()) == ["step-00000002", "step-00000004"]
    first = weights(b)
    train.run(ctx_for(b, small_config(6, lr_schedule="constant"), "train"))  # ... and resumed to step 6
    metrics = json.loads((b / "metrics.json").read_text())["train"]
    assert metrics["resumed_from_step"] == 4.0
    wa, wb = weights(a), weights(b)
    assert any(not torch.equal(first[k], wb[k]) for k in wb)  # the resumed steps trained
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-5, atol=1e-6)
    split = json.loads((a / "train/split.json").read_text())
    assert split["heldout"] and not set(split["heldout"]) & set(split["train"])


@pytest.mark.slow
def test_model_stages_end_to_end_on_a_synthetic_game(tmp_path):
    """encode → train → decoder → rollout on a synthetic game; GIF + metrics; learns."""
    from almost_gamengen.data.synthetic import write_synthetic
    from almost_gamengen.stages import decoder, encode, rollout, train

    write_synthetic(tmp_path / "collect/episodes", episodes=6, length=24, height=32, width=32)
    cfg = tiny()
    cfg = attrs.evolve(
        cfg,
        encode=attrs.evolve(cfg.encode, vae_block_out_channels=[16, 16, 16], vae_fit_steps=100, vae_fit_batch_size=8),
        model=attrs.evolve(cfg.model, context=3, block_out_channels=[16, 32], action_dim=32),
        train=attrs.evolve(cfg.train, steps=120, batch_size=8, warmup_steps=10, checkpoint_every=100),
        decoder=attrs.evolve(cfg.decoder, steps=5, batch_size=4),
        rollout=attrs.evolve(cfg.rollout, eval_frames=16, horizon=6, episodes=1, gif_scale=1,
                             probe_states=0),  # the synthetic game has no env to replay
    )
    for stage in (encode, train, decoder):
        stage.run(ctx_for(tmp_path, cfg, stage.__name__.rsplit(".", 1)[1]))
    # rollout on an explicit device object: every module's weights and every tensor that any
    # module sees must be on it (a CPU device object here; the same check holds on a GPU)
    device = torch.device("cpu")
    seen = {"modules": 0, "tensors": 0}

    def on_device(module, args, kwargs):
        seen["modules"] += 1
        for p in list(module.parameters(recurse=False)) + list(module.buffers(recurse=False)):
            assert p.device == device, (type(module).__name__, p.device)
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, torch.Tensor):
                seen["tensors"] += 1
                assert a.device == device, (type(module).__name__, a.device)

    hook = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda m, a: on_device(m, a, {}))
    try:
        rollout.run(ctx_for(tmp_path, cfg, "rollout"), device=device)
    finally:
        hook.remove()
    assert seen["modules"] > 100 and seen["tensors"] > 100
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["rollout"]["psnr_db_copy_vae"] != m["rollout"]["psnr_db_copy_raw"]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["encode"]["frames"] == 6 * 24 and m["encode"]["latent_h"] == 8
    r = m["rollout"]
    for key in ("psnr_db_trained", "psnr_db_untrained", "psnr_db_copy_raw", "psnr_db_copy_vae",
                "psnr_db_gain_over_copy_vae", "ssim_trained", "psnr_db_autoregressive",
                "psnr_db_autoregressive_copy_vae", "lpips_skipped", "psnr_db_objects", "psnr_db_objects_copy_vae",
                "psnr_db_objects_vae_ceiling", "sharpness_trained", "sharpness_autoregressive"):
        assert key in r
    assert r["object_frames"] == r["eval_frames"]  # the synthetic square is on every frame
    assert m["train"]["heldout_loss"] < 0.7 * m["train"]["heldout_loss_init"]
    assert r["latent_mse_trained"] < 0.5 * r["latent_mse_untrained"]
    assert r["psnr_db_trained"] > r["psnr_db_untrained"] + 0.5
    assert m["decoder"]["psnr_db_after"] >= m["decoder"]["psnr_db_before"] or not m["decoder"]["kept_finetuned"]
    gifs = list((tmp_path / "rollout").glob("*.gif"))
    assert len(gifs) == 1
    from PIL import Image

    with Image.open(gifs[0]) as im:
        assert im.n_frames == 6 and im.size == (32 * 2 + 2, 32)
    assert (tmp_path / "decoder/vae/config.json").is_file()

    # like for like: a model that copies its last context latent gains exactly nothing over the
    # copy-through-VAE baseline (against the raw copy it would seem to win or lose)
    from almost_gamengen.model import sampling

    copier = lambda self, context, *a, **k: context[:, -1].clone()  # noqa: E731
    import unittest.mock

    with unittest.mock.patch.object(sampling.Sampler, "next_latent", copier):
        rollout.run(ctx_for(tmp_path, cfg, "rollout"))
    c = json.loads((tmp_path / "metrics.json").read_text())["rollout"]
    assert abs(c["psnr_db_gain_over_copy_vae"]) < 1e-4
    assert abs(c["psnr_db_trained"] - c["psnr_db_copy_raw"]) > 0.05

    # action guidance needs a model trained to predict without the action: one sentence otherwise
    guided = attrs.evolve(cfg, rollout=attrs.evolve(cfg.rollout, action_guidance=2.0))
    with pytest.raises(UserError, match=r"rollout.action_guidance=2.0 needs .*model.action_drop_prob"):
        rollout.run(ctx_for(tmp_path, guided, "rollout"))


def test_a_nan_loss_stops_training_with_one_sentence(tmp_path):
    from almost.errors import UserError
    from almost_gamengen.stages import train

    fake_latents(tmp_path)
    path = tmp_path / "encode/latents" / shard_name(0)
    g = torch.Generator().manual_seed(0)
    lat = torch.randn(40, 4, 4, 4, generator=g)
    lat[::3] = float("nan")
    write_shard(path, lat, np.arange(40) % 3)
    cfg = small_config(6, log_every=2)
    with pytest.raises(UserError, match=r"train: loss became nan at step 2"):
        train.run(ctx_for(tmp_path, cfg, "train"))
    assert not (tmp_path / "train/model").exists()
    if (tmp_path / "metrics.json").exists():  # strict JSON: nothing NaN was logged
        json.loads((tmp_path / "metrics.json").read_text(), parse_constant=lambda c: 1 / 0)


def test_a_truncated_latent_shard_is_one_sentence_naming_it(tmp_path):
    from almost.errors import UserError
    from almost_gamengen.model.latents import LatentStore

    fake_latents(tmp_path)
    path = tmp_path / "encode/latents" / shard_name(0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(UserError, match=r"latent shard .*shard-00000.safetensors is truncated"):
        LatentStore(tmp_path / "encode/latents")


@pytest.mark.parametrize("item", ["train.keep_checkpoints=-1", "train.steps=-5", "train.checkpoint_every=0",
                                  "train.heldout_fraction=1.5", "train.batch_size=0", "train.lr=nan",
                                  "collect.episodes=0", "rollout.probe_horizon=0", "model.cfg_drop_prob=2"])
def test_out_of_range_settings_are_refused(app, item):
    from almost.errors import ConfigError

    key = item.split("=")[0]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        app.pipeline("gamengen").resolve_config("tiny", None, [item])


@pytest.mark.parametrize("processes", [1, 4])
def test_cosine_schedule_warms_up_then_ends_at_zero_on_the_last_step(processes):
    """``train.lr_schedule=cosine``: full rate after the warm-up, half at mid-decay, 0 at the last
    step — also with N processes, where accelerate steps the scheduler N times per optimizer step."""
    from almost_gamengen.stages.train import _lr_schedule

    tcfg = attrs.evolve(tiny().train, steps=100, warmup_steps=10, lr=1e-3, lr_schedule="cosine")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=tcfg.lr)
    sched = _lr_schedule(opt, tcfg, processes)
    seen = {}
    for step in range(1, tcfg.steps + 1):
        opt.step()
        for _ in range(processes):  # what accelerate's AcceleratedScheduler does per optimizer step
            sched.step()
        seen[step] = sched.get_last_lr()[0]
    assert seen[10] == pytest.approx(1e-3)
    assert seen[55] == pytest.approx(0.5e-3, rel=1e-6)
    assert seen[100] == pytest.approx(0.0, abs=1e-12)
    assert all(seen[s + 1] <= seen[s] for s in range(10, 100))
    constant = _lr_schedule(opt, attrs.evolve(tcfg, lr_schedule="constant"), processes)
    for _ in range(100 * processes):
        opt.step()
        constant.step()
    assert constant.get_last_lr()[0] == pytest.approx(1e-3)
