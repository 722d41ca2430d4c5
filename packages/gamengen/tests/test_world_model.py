"""The world model (:mod:`almost_gamengen.model.world_model`, sampled through
:mod:`almost_gamengen.model.sampling`): context CFG, action guidance, action positions, the delta
target, save/load, SD 1.x layouts, full shapes."""

from __future__ import annotations

import json

import attrs
import pytest
import torch

from almost.errors import UserError
from almost_gamengen.config_model import ModelConfig
from almost_gamengen.model.sampling import Sampler, SampleSettings, make_scheduler
from almost_gamengen.model.world_model import (
    WorldModel,
    adapt_pretrained_unet,
    build_world_model,
    check_sd_layout,
    noise_scheduler_config,
)


def test_delta_target_round_trips_and_copy_is_zero():
    from almost_gamengen.config_model import ModelConfig
    from almost_gamengen.model.world_model import build_world_model

    mcfg = attrs.evolve(ModelConfig.tiny(), context=2, block_out_channels=[16, 16], action_dim=16,
                        predict_delta=True, delta_scale=2.0, action_time_cond=True)
    model = build_world_model(mcfg, 3, (4, 4), seed=0)
    ctx = torch.randn(2, 2, 4, 4, 4)
    x = torch.randn(2, 4, 4, 4)
    t = model.to_target(x, ctx)
    assert torch.allclose(model.from_target(t, ctx), x, atol=1e-6)
    assert torch.equal(model.to_target(ctx[:, -1], ctx), torch.zeros_like(x))
    # the last action reaches the timestep embedding: changing it changes the output
    noisy, ts = torch.randn(2, 4, 4, 4), torch.full((2,), 500)
    a1, a2 = torch.tensor([[0, 1], [0, 1]]), torch.tensor([[0, 2], [0, 2]])
    with torch.no_grad():
        assert not torch.allclose(model(noisy, ts, ctx, a1), model(noisy, ts, ctx, a2))
    assert model.unet.config.time_cond_proj_dim == 16


HW = (4, 4)


def tiny_cfg(**kw):
    base = dict(context=3, block_out_channels=[16, 16], cross_attention_levels=[False, True],
                attention_head_dim=8, action_dim=16)
    base.update(kw)
    return attrs.evolve(ModelConfig.tiny(), **base)


def inputs(b=2, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, 4, *HW, generator=g), torch.full((b,), 500),
            torch.randn(b, c, 4, *HW, generator=g), torch.tensor([[0, 1, 2], [2, 1, 0]][:b]),
            torch.ones(b, c), torch.zeros(b, dtype=torch.long))


def test_cfg_drops_the_whole_context_identically_in_training_and_inference():
    model = build_world_model(tiny_cfg(), 3, HW, seed=0).eval()
    _, _, ctx, acts, mask, _ = inputs()
    dropped = WorldModel.drop_context(ctx, torch.tensor([True, False]))
    assert (dropped[0] == 0).all()  # every context frame of the dropped sample
    assert torch.equal(dropped[1], ctx[1])  # the other sample untouched
    sched = make_scheduler(noise_scheduler_config(1000))
    # guidance 0 keeps only the unconditional branch: it must equal an all-pad context
    unc = Sampler(model, sched, SampleSettings(steps=2, guidance_scale=0.0)).next_latent(
        ctx, acts, mask, generator=torch.Generator().manual_seed(1))
    pad = Sampler(model, sched, SampleSettings(steps=2, guidance_scale=1.0)).next_latent(
        torch.zeros_like(ctx), acts, mask, generator=torch.Generator().manual_seed(1))
    cond = Sampler(model, sched, SampleSettings(steps=2, guidance_scale=1.0)).next_latent(
        ctx, acts, mask, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(unc, pad)
    assert not torch.allclose(unc, cond)


def test_action_guidance_hides_the_last_action_identically_in_training_and_inference(tmp_path):
    """model.action_drop_prob / rollout.action_guidance: the 'no action' branch masks exactly the
    token of the action that leads to the frame; guidance 0 is that branch, 1 the plain model,
    and 2 pushes as far again the way the action moves the frame — alone or with context CFG."""
    model = build_world_model(tiny_cfg(action_drop_prob=0.1), 3, HW, seed=0).eval()
    assert model.action_drop_prob == 0.1
    _, _, ctx, acts, mask, _ = inputs()
    hidden = WorldModel.hide_action(mask, torch.tensor([True, False]))
    assert hidden.tolist() == [[1, 1, 0], [1, 1, 1]] and mask.sum() == 6  # the input is not changed
    assert WorldModel.hide_action(torch.ones(2, 3)).tolist() == [[1, 1, 0], [1, 1, 0]]
    with pytest.raises(UserError, match=r"rollout.action_guidance=2.0 needs"):
        build_world_model(tiny_cfg(), 3, HW, seed=0).check_action_guidance(2.0)
    model.check_action_guidance(2.0)  # trained for it: no error
    sched = make_scheduler(noise_scheduler_config(1000))

    def sample(guidance_scale=1.0, action_guidance=1.0, **kw):
        args = dict(context=ctx, actions=acts, mask=mask, generator=torch.Generator().manual_seed(1))
        args.update(kw)
        settings = SampleSettings(steps=1, guidance_scale=guidance_scale, action_guidance=action_guidance)
        return Sampler(model, sched, settings).next_latent(**args)

    plain, none = sample(), sample(mask=WorldModel.hide_action(mask))
    # no mask given (every token real): guidance still hides exactly the last action token
    torch.testing.assert_close(sample(mask=None, action_guidance=2.0), sample(action_guidance=2.0))
    torch.testing.assert_close(sample(action_guidance=0.0), none)
    torch.testing.assert_close(sample(action_guidance=1.0), plain)
    # one DDIM step from pure noise is linear in v: x0 = -v at zero terminal SNR
    torch.testing.assert_close(sample(action_guidance=2.0), plain + (plain - none), atol=1e-5, rtol=1e-4)
    assert (plain - none).abs().max() > 1e-4  # the action token matters at all
    other = acts.clone()
    other[:, -1] = (other[:, -1] + 1) % 3
    assert not torch.allclose(sample(action_guidance=2.0), sample(action_guidance=2.0, actions=other))
    both = sample(guidance_scale=1.5, action_guidance=2.0)
    no_ctx = sample(context=torch.zeros_like(ctx))
    torch.testing.assert_close(both, no_ctx + 1.5 * (plain - no_ctx) + (plain - none), atol=1e-5, rtol=1e-4)
    # a saved model keeps the setting; an older model without it loads as 0
    saved = model.save(tmp_path / "m")
    assert WorldModel.load(saved).action_drop_prob == 0.1
    meta = json.loads((saved / "world_model.json").read_text())
    del meta["action_drop_prob"]
    (saved / "world_model.json").write_text(json.dumps(meta))
    assert WorldModel.load(saved).action_drop_prob == 0.0


def test_action_position_embeddings_make_order_matter():
    model = build_world_model(tiny_cfg(), 3, HW, seed=0).eval()
    x, t, ctx, acts, mask, bucket = inputs(b=1)
    permuted = acts[:, [2, 0, 1]]
    with torch.no_grad():
        a = model(x, t, ctx, acts, mask, bucket)
        b = model(x, t, ctx, permuted, mask, bucket)
        assert (a - b).abs().max() > 1e-4
        # control: without the temporal positions, cross-attention cannot see the order
        model.action_position.weight.zero_()
        a0 = model(x, t, ctx, acts, mask, bucket)
        b0 = model(x, t, ctx, permuted, mask, bucket)
    torch.testing.assert_close(a0, b0, atol=1e-5, rtol=1e-5)


def test_context_noise_buckets():
    model = build_world_model(tiny_cfg(), 3, HW, seed=0)
    assert model.bucket_of(0.0) == 0 and model.bucket_of(0.7) == 9 and model.bucket_of(5) == 9
    sig = model.bucket_sigma(torch.tensor([0, 9]))
    assert sig.tolist() == pytest.approx([0.0, 0.7])
    ctx = torch.ones(2, 3, 4, *HW)
    noisy = model.noise_context(ctx, torch.tensor([0, 9]), torch.Generator().manual_seed(0))
    assert torch.equal(noisy[0], ctx[0]) and not torch.equal(noisy[1], ctx[1])


def test_save_load_round_trip(tmp_path):
    model = build_world_model(tiny_cfg(), 3, HW, seed=0, meta={"action_names": ["n", "l", "r"]}).eval()
    with torch.no_grad():
        model.action_position.weight.add_(1.0)  # not the init: the file must carry it
    model.save(tmp_path / "m", noise_scheduler_config(1000))
    assert (tmp_path / "m/unet/diffusion_pytorch_model.safetensors").is_file()
    assert (tmp_path / "m/scheduler/scheduler_config.json").is_file()
    loaded = WorldModel.load(tmp_path / "m").eval()
    assert loaded.meta["action_names"] == ["n", "l", "r"] and loaded.context == 3
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs()), model(*inputs()))
    with pytest.raises(UserError, match="not a saved world model"):
        WorldModel.load(tmp_path)


def test_sd_layout_errors(tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        check_sd_layout(tmp_path / "nope")
    with pytest.raises(UserError, match="not a diffusers Stable Diffusion layout"):
        check_sd_layout(tmp_path)
    (tmp_path / "unet").mkdir()
    (tmp_path / "vae").mkdir()
    (tmp_path / "unet/config.json").write_text(json.dumps({"_class_name": "UNet2DModel", "in_channels": 3}))
    (tmp_path / "vae/config.json").write_text("{}")
    with pytest.raises(UserError, match="not an SD 1.x"):
        check_sd_layout(tmp_path)


def test_loads_a_local_sd_folder_and_keeps_its_denoiser_at_step_zero(tmp_path):
    """A tiny SD-shaped folder saved here stands in for SD 1.5 (no downloads)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=4, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 16), norm_num_groups=8, cross_attention_dim=16,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=8)
    unet.save_pretrained(tmp_path / "sd/unet")
    AutoencoderKL(block_out_channels=(8,), norm_num_groups=8, latent_channels=4).save_pretrained(tmp_path / "sd/vae")
    cfg = tiny_cfg(pretrained=str(tmp_path / "sd"))
    model = build_world_model(cfg, 3, HW, seed=0).eval()
    assert model.unet.conv_in.in_channels == 4 * (cfg.context + 1)
    assert model.unet.config.num_class_embeds == cfg.context_noise_buckets
    x, t, ctx, acts, mask, bucket = inputs()
    tokens = model.action_tokens(acts)
    with torch.no_grad():
        ours = model(x, t, ctx, acts, mask, bucket + 5)
        base = unet.eval()(x, t, encoder_hidden_states=tokens, encoder_attention_mask=mask).sample
    torch.testing.assert_close(ours, base, atol=1e-5, rtol=1e-4)  # new channels start at zero
    with pytest.raises(UserError, match="model.action_dim"):
        build_world_model(tiny_cfg(pretrained=str(tmp_path / "sd"), action_dim=32), 3, HW, seed=0)


SD15_UNET = {
    "act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
    "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}


def test_full_profile_builds_the_real_sd_shapes_without_weights():
    """SD 1.5's UNet config on the meta device: real shapes, no memory, no weights."""
    from accelerate import init_empty_weights
    from diffusers import UNet2DConditionModel

    from almost_gamengen.config import full

    cfg = full()
    mcfg = cfg.model
    assert mcfg.context == 64 and mcfg.action_dim == 768
    with init_empty_weights(include_buffers=True):
        unet = UNet2DConditionModel(**SD15_UNET)
        unet = adapt_pretrained_unet(unet, mcfg.context, mcfg.context_noise_buckets)
        model = WorldModel(unet, 3, mcfg.context, mcfg.context_noise_max, mcfg.context_noise_buckets)
    assert model.unet.conv_in.in_channels == 4 * (64 + 1) == 260
    assert model.unet.class_embedding.weight.shape == (10, 1280)
    h, w = 256 // 8, 320 // 8
    with torch.device("meta"):
        out = model(torch.empty(1, 4, h, w), torch.tensor([10]), torch.empty(1, 64, 4, h, w),
                    torch.zeros(1, 64, dtype=torch.long), torch.ones(1, 64), torch.tensor([3]))
    assert tuple(out.shape) == (1, 4, h, w)


def test_small_profile_builds_and_steps_and_full_samples_like_the_paper():
    """``small`` is constructed and shape-checked on CPU (a forward, a sampled frame, a decode);
    ``full`` reaches GameNGen's batch 128 by accumulation and samples with CFG 1.5."""
    from almost_gamengen.config import full, small
    from almost_gamengen.model.vae import build_tiny_vae, decode_latents

    cfg = small()
    hw = (cfg.env.height, cfg.env.width)
    vae = build_tiny_vae(cfg.encode.vae_block_out_channels, hw)
    f = 2 ** (len(cfg.encode.vae_block_out_channels) - 1)
    lat = (hw[0] // f, hw[1] // f)
    model = build_world_model(cfg.model, 8, lat, seed=0).eval()
    c = cfg.model.context
    ctx = torch.randn(2, c, 4, *lat)
    acts = torch.randint(0, 8, (2, c))
    out = model(torch.randn(2, 4, *lat), torch.tensor([5, 900]), ctx, acts, torch.ones(2, c))
    assert out.shape == (2, 4, *lat)
    sched = make_scheduler(noise_scheduler_config(cfg.model.train_timesteps))
    z = Sampler(model, sched, SampleSettings.of(cfg.rollout, steps=2)).next_latent(
        ctx, acts, torch.ones(2, c), generator=torch.Generator().manual_seed(0))
    assert decode_latents(vae, z).shape == (2, 3, *hw)
    f = full()
    assert f.train.batch_size * f.train.gradient_accumulation_steps == 128
    assert f.rollout.guidance_scale == 1.5 and f.train.gradient_checkpointing
    # GameNGen samples 4 DDIM steps at a constant rate; tiny and small measured best with one step
    assert f.rollout.ddim_steps == 4 and f.train.lr_schedule == "constant"
    assert cfg.rollout.ddim_steps == 1 and cfg.rollout.guidance_scale == 1.3
    assert cfg.train.lr_schedule == "constant"  # how the measured small model was trained
