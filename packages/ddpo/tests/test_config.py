"""The config: the ``full`` profile's code paths on CPU without weights (an SD 1.5-shaped UNet built on the
meta device takes the configured LoRA and runs one guided step with the full latent shape), and
the ranges every field is checked against."""

from __future__ import annotations

import pytest
import torch

from almost_ddpo.config import full

SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8,
)


def test_full_profile_settings():
    from almost_ddpo.pictures import tile_size
    from almost_ddpo.stages.policy import sampler_settings

    cfg = full()
    assert cfg.score.mode == "web" and cfg.score.host == "127.0.0.1"
    assert cfg.policy.mixed_precision == "fp16" and cfg.policy.gradient_checkpointing
    assert cfg.generate.height == cfg.generate.width == 512
    assert cfg.policy.lora_alpha == cfg.policy.lora_rank == 4
    # the policy samples and trains with the sampler the scored images came from
    assert sampler_settings(cfg) == (cfg.generate.steps, cfg.generate.guidance) == (50, 5.0)
    assert cfg.policy.gradient_accumulation_steps > 1 and cfg.export.export_every > 0
    assert cfg.reward_model.pool == 8  # the seed's 8×8 layout
    assert tile_size(512, 512) == (256, 256) and tile_size(32, 32) == (128, 128)  # before_after.png stays small


def test_full_profile_lora_and_step_shapes_on_meta_device():
    from accelerate import init_empty_weights
    from diffusers import DDIMScheduler, UNet2DConditionModel

    from almost_ddpo.ddim import ddim_step_with_logprob, guided_eps
    from almost_ddpo.lora import add_lora
    from almost_ddpo.stages.policy import sampler_settings

    steps, guidance = sampler_settings(full())
    cfg = full().policy
    with init_empty_weights():
        unet = UNet2DConditionModel(**SD15_UNET)
    lora = add_lora(unet, cfg.lora_rank, cfg.lora_alpha, cfg.lora_targets)
    trainable = [(n, p) for n, p in unet.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n, _ in trainable)
    assert lora.r == 4 and 0.5e6 < sum(p.numel() for _, p in trainable) < 2e6  # SD 1.5 rank-4 attention LoRA
    unet.to_empty(device="meta")
    unet.enable_gradient_checkpointing()
    b = cfg.train_batch_size
    x = torch.empty(b, 4, 64, 64, device="meta")
    emb = torch.empty(2 * b, 77, 768, device="meta")
    sched = DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1)
    sched.set_timesteps(steps)
    t = sched.timesteps[torch.tensor([3] * b)]
    eps = guided_eps(unet, x, t.to("meta"), emb, guidance)
    assert eps.shape == (b, 4, 64, 64)
    # the log-prob of a stored step, as in training (CPU tensors of the full latent shape)
    x_t = torch.randn(b, 4, 64, 64)
    _, logp = ddim_step_with_logprob(sched, torch.randn_like(x_t), t, x_t, cfg.eta, prev_sample=torch.randn_like(x_t))
    assert logp.shape == (b,)


def test_full_profile_without_a_model_folder_is_a_clear_error(tmp_path):
    from almost.testing import run_cli

    code, out, err = run_cli(["run", "--plugin", "ddpo", "pretrain", "--profile", "full", "--out", str(tmp_path)])
    assert code == 2 and "--set model.path=" in out + err and "Traceback" not in out + err
    code, out, err = run_cli(["run", "--plugin", "ddpo", "pretrain", "--profile", "full", "--out", str(tmp_path / "b"),
                              "--set", f"model.path={tmp_path / 'nothing'}"])
    assert code == 2 and "no model_index.json" in out + err


def test_policy_config_ranges():
    from almost.config import apply_sets
    from almost.errors import ConfigError
    from almost_ddpo.config import tiny as tiny_profile

    for bad in ("policy.eta=0", "policy.train_batch_size=0", "policy.epochs=-1", "policy.gradient_accumulation_steps=0",
                "reward_model.holdout_fraction=1.5", "generate.steps=0", "policy.timestep_fraction=0",
                "reward_model.batch_size=0", "policy.sample_batch_size=0", "policy.checkpoint_every=0",
                "export.export_every=-1", "policy.lr=0", "score.port=70000"):
        with pytest.raises(ConfigError) as e:
            apply_sets(tiny_profile(), [bad])
        assert bad.split("=")[0] in str(e.value), str(e.value)
    cfg = apply_sets(tiny_profile(), ["policy.epochs=0", "policy.steps=none", "policy.guidance=7.5"])
    assert cfg.policy.epochs == 0 and cfg.policy.steps is None and cfg.policy.guidance == 7.5
