"""gamengen's registered sampler, dataset and trainer (:mod:`almost_gamengen.components`): the
config names them (``rollout.sampler``, ``train.dataset``, ``train.trainer``), unknown names
are refused before any stage runs, and each passes the core's checks for its kind."""

from __future__ import annotations

import attrs
import pytest
import torch

from almost.plugins import get_app
from almost.testing import check_component, check_dataset, check_trainer, run_cli
from almost_gamengen.config_model import ModelConfig
from almost_gamengen.model.sampling import (
    SampleSettings,
    ddim,
    dpmsolver,
    make_sampler,
    make_scheduler,
)
from almost_gamengen.model.world_model import build_world_model, noise_scheduler_config

KEYS = [("rollout.sampler", "sampler", "gamengen-ddim"), ("train.dataset", "dataset", "gamengen-windows"),
        ("train.trainer", "trainer", "gamengen-worldmodel")]


@pytest.mark.parametrize("key,kind,default", KEYS)
def test_config_names_each_component_and_refuses_unknown_ones(tmp_path, key, kind, default):
    code, out, err = run_cli(["config", "--plugin", "gamengen"])
    assert code == 0 and f'{key.split(".")[1]} = "{default}"' in out
    for argv in (["config", "--plugin", "gamengen", "--set", f"{key}=nosuch"],
                 ["run", "--plugin", "gamengen", "--out", str(tmp_path / "run"), "--set", f"{key}=nosuch"]):
        code, out, err = run_cli(argv)
        assert code == 2, (argv, out, err)
        assert "'nosuch'" in out + err and f"known {kind} components" in out + err and default in out + err
        assert "Traceback" not in out + err
    assert not (tmp_path / "run" / "agent").exists() and not (tmp_path / "run" / "collect").exists()  # no stage ran


def tiny_model(seed=0):
    mcfg = attrs.evolve(ModelConfig.tiny(), context=3, block_out_channels=[16, 16],
                        cross_attention_levels=[False, True], attention_head_dim=8, action_dim=16)
    return build_world_model(mcfg, 3, (4, 4), seed=seed).eval()


@pytest.mark.parametrize("name", ["gamengen-ddim", "gamengen-dpmsolver"])
def test_samplers_pass_check_sampler(name):
    """One next latent (4, h, w) per condition, the same seed the same latents, with guidance."""
    registry = get_app().registry
    s = check_component(registry, f"sampler/{name}", model=tiny_model(), scheduler_config=noise_scheduler_config(1000),
                        settings=SampleSettings(steps=3, guidance_scale=1.5))
    out = s.sample(s.example_conditions(), generator=torch.Generator().manual_seed(1))
    assert [tuple(z.shape) for z in out] == [(4, 4, 4)] * 3 and all(torch.isfinite(z).all() for z in out)
    assert not torch.equal(out[0], out[1])  # each condition its own sample
    assert type(make_sampler(registry, name, tiny_model(), noise_scheduler_config(1000), SampleSettings())) is type(s)


@pytest.mark.parametrize("prediction", ["v_prediction", "epsilon"])
def test_dpmsolver_predicts_what_the_unet_was_trained_for(prediction):
    cfg = {**noise_scheduler_config(1000), "prediction_type": prediction}
    for kind, cls in (("ddim", "DDIMScheduler"), ("dpmsolver", "DPMSolverMultistepScheduler")):
        sched = make_scheduler(cfg, kind)
        assert type(sched).__name__ == cls and sched.config.prediction_type == prediction
        assert sched.config.timestep_spacing == "trailing"  # the run's spacing, not the class default


def _latents(sampler, steps, seed=0):
    s = sampler.with_settings(steps=steps)
    conds = s.example_conditions()
    return torch.stack(s.sample(conds, generator=torch.Generator().manual_seed(seed)))


def test_dpmsolver_is_another_solver_of_the_same_model():
    """The same model, seed and noise: at 1 step both solvers take the same first-order step;
    beyond, DPM-Solver++'s second-order multistep update is its own, and it gets closer to the
    model's ODE solution (DDIM at 200 steps) than DDIM does at the same 10 steps."""
    model, cfg = tiny_model(), noise_scheduler_config(1000)
    a, b = ddim(model, cfg), dpmsolver(model, cfg)
    assert torch.allclose(_latents(a, 1), _latents(b, 1), atol=1e-3)
    ref = _latents(a, 200)
    err = {(s, n): float((_latents(s, n) - ref).abs().mean()) for s in (a, b) for n in (4, 10)}
    assert float((_latents(a, 4) - _latents(b, 4)).abs().max()) > 1e-3, "DPM-Solver gave DDIM's latents"
    assert err[(b, 10)] < err[(a, 10)] / 1.5, err  # measured 0.05 vs 0.12 on this model
    assert err[(b, 10)] < err[(b, 4)] / 2, err  # and it converges as steps grow
    again = _latents(b, 4)  # a multistep scheduler starts afresh each frame
    assert torch.equal(again, _latents(b, 4))


def test_windows_dataset_and_worldmodel_trainer(tmp_path):
    """``dataset/gamengen-windows`` passes check_dataset; ``trainer/gamengen-worldmodel`` on it
    passes check_trainer (a second fit() returns the same metrics, training no further)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("gamengen_test_train", Path(__file__).with_name("test_train.py"))
    tt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tt)  # its fake latent store and small config
    ctx_for, fake_latents, small_config, weights = tt.ctx_for, tt.fake_latents, tt.small_config, tt.weights

    from almost_gamengen.model.latents import LatentStore, split_episodes

    fake_latents(tmp_path)
    cfg = small_config(4, lr_schedule="constant")
    registry = get_app().registry
    store = LatentStore(tmp_path / "encode/latents")
    split = split_episodes(store.episode_ids(), cfg.train.heldout_fraction, cfg.seed)
    data = check_component(registry, "dataset/gamengen-windows", root=store.root, context=cfg.model.context,
                           episodes=split[0])
    check_dataset(data)
    assert len(data) == len(split[0]) * 9 and set(data.schema()) == set(data[0])
    trainer = registry.create("trainer/gamengen-worldmodel", ctx=ctx_for(tmp_path, cfg, "train"), dataset=data,
                              store=store, split=split)
    metrics = check_trainer(trainer)
    assert metrics["steps"] == 4 and metrics["train_windows"] == len(data)
    w = weights(tmp_path)
    trainer.fit()
    assert all(torch.equal(w[k], v) for k, v in weights(tmp_path).items())  # no further training
