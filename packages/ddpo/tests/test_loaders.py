"""Single-file SD 1.x checkpoints: the test writes the tiny model in the original LDM layout
(one .safetensors, as most users hold SD models), the pretrain stage converts it through
diffusers' ``from_single_file`` with a local config folder (no hub), and the result computes
exactly what the original model does. The SD 1.5 configs shipped with the package build the
real shapes and tokenize like CLIP."""

from __future__ import annotations

import shutil

import attrs
import torch

from almost.registry import Registry
from almost.runs import Pipeline, RunContext
from almost_ddpo.config import tiny


def _unet_to_ldm(sd: dict, config: dict) -> dict:
    """diffusers UNet2DConditionModel keys → the original ``model.diffusion_model.*`` layout."""
    lpb = config["layers_per_block"]
    n = len(config["block_out_channels"])
    renames = [("time_embedding.linear_1.", "time_embed.0."), ("time_embedding.linear_2.", "time_embed.2."),
               ("conv_in.", "input_blocks.0.0."), ("conv_norm_out.", "out.0."), ("conv_out.", "out.2.")]
    res = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"), ("conv2", "out_layers.3"),
           ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection")]
    up_attn = {i for i, t in enumerate(config["up_block_types"]) if "CrossAttn" in t}
    prefixes = []
    for i in range(n):
        for j in range(lpb):
            prefixes.append((f"down_blocks.{i}.resnets.{j}.", f"input_blocks.{i * (lpb + 1) + j + 1}.0.", True))
            prefixes.append((f"down_blocks.{i}.attentions.{j}.", f"input_blocks.{i * (lpb + 1) + j + 1}.1.", False))
        prefixes.append((f"down_blocks.{i}.downsamplers.0.conv.", f"input_blocks.{(i + 1) * (lpb + 1)}.0.op.", False))
        for j in range(lpb + 1):
            prefixes.append((f"up_blocks.{i}.resnets.{j}.", f"output_blocks.{i * (lpb + 1) + j}.0.", True))
            prefixes.append((f"up_blocks.{i}.attentions.{j}.", f"output_blocks.{i * (lpb + 1) + j}.1.", False))
        prefixes.append((f"up_blocks.{i}.upsamplers.0.", f"output_blocks.{i * (lpb + 1) + lpb}.{2 if i in up_attn else 1}.",
                         False))
    prefixes += [("mid_block.resnets.0.", "middle_block.0.", True), ("mid_block.attentions.0.", "middle_block.1.", False),
                 ("mid_block.resnets.1.", "middle_block.2.", True)]
    out = {}
    for k, v in sd.items():
        new = k
        for a, b in renames:
            if k.startswith(a):
                new = b + k[len(a):]
        for a, b, is_res in prefixes:
            if k.startswith(a):
                rest = k[len(a):]
                if is_res:
                    for x, y in res:
                        if rest.startswith(x + "."):
                            rest = y + rest[len(x):]
                new = b + rest
        out["model.diffusion_model." + new] = v
    return out


def _vae_to_ldm(sd: dict, n: int) -> dict:
    """diffusers AutoencoderKL keys (no mid attention) → the original ``first_stage_model.*`` layout."""
    out = {}
    for k, v in sd.items():
        new = k.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        new = new.replace("mid_block.resnets.0.", "mid.block_1.").replace("mid_block.resnets.1.", "mid.block_2.")
        for i in range(n):
            new = new.replace(f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block.")
            new = new.replace(f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample.")
            new = new.replace(f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{n - 1 - i}.block.")
            new = new.replace(f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{n - 1 - i}.upsample.")
        out["first_stage_model." + new] = v
    return out


def _clip_to_ldm(sd: dict) -> dict:
    """CLIP text encoder keys → ``cond_stage_model.transformer.text_model.*`` (transformers ≥ 5.6
    flattened ``CLIPTextModel``, so its own keys may lack the ``text_model.`` level)."""
    return {"cond_stage_model.transformer." + (k if k.startswith("text_model.") else f"text_model.{k}"): v
            for k, v in sd.items()}


def test_single_file_checkpoint_converts_and_matches_the_original(tmp_path, tiny_model_dir):
    from safetensors.torch import save_file

    from almost_ddpo.loaders import load_pipeline
    from almost_ddpo.rewards import register
    from almost_ddpo.stages import pretrain

    ref = load_pipeline(tiny_model_dir)
    ckpt = {**_unet_to_ldm(ref.unet.state_dict(), dict(ref.unet.config)),
            **_vae_to_ldm(ref.vae.state_dict(), len(ref.vae.config.block_out_channels)),
            **_clip_to_ldm(ref.text_encoder.state_dict())}
    single = save_file({k: v.contiguous() for k, v in ckpt.items()}, str(tmp_path / "tiny-sd.safetensors")) or \
        tmp_path / "tiny-sd.safetensors"
    configs = tmp_path / "configs"  # the tiny model's component configs, without any weights
    shutil.copytree(tiny_model_dir, configs, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    assert not list(configs.rglob("*.safetensors"))

    cfg = tiny()
    cfg = attrs.evolve(cfg, model=attrs.evolve(cfg.model, path=str(single), single_file_config=str(configs)))
    reg = Registry()
    register(reg)
    ctx = RunContext(pipeline=Pipeline(name="ddpo", stages=[], profiles={}, rounds=True), config=cfg,
                     run_dir=tmp_path / "run", profile="tiny", registry=reg, stage_name="pretrain")
    pretrain.run(ctx)
    folder = pretrain.model_dir(ctx)
    assert folder == tmp_path / "run" / "round-001" / "pretrain" / "model" or folder.resolve() == (
        tmp_path / "run" / "round-001" / "pretrain" / "model").resolve()
    got = load_pipeline(folder)

    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    ids = ref.tokenizer(["a red circle", "a blue square"], padding="max_length", max_length=8,
                        return_tensors="pt").input_ids
    img = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        emb_ref, emb_got = ref.text_encoder(ids)[0], got.text_encoder(ids)[0]
        assert torch.allclose(emb_ref, emb_got, atol=1e-6)
        assert torch.allclose(ref.unet(x, 500, encoder_hidden_states=emb_ref).sample,
                              got.unet(x, 500, encoder_hidden_states=emb_ref).sample, atol=1e-5)
        assert torch.allclose(ref.vae.encode(img).latent_dist.mean, got.vae.encode(img).latent_dist.mean, atol=1e-5)
        assert torch.allclose(ref.vae.decode(x).sample, got.vae.decode(x).sample, atol=1e-5)
    assert got.vae.config.scaling_factor == ref.vae.config.scaling_factor


def test_shipped_sd15_configs_build_the_real_shapes_and_tokenize_like_clip():
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from almost_ddpo.loaders import SD15_CONFIG

    tok = CLIPTokenizer.from_pretrained(SD15_CONFIG, subfolder="tokenizer")
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tok) == 49408 and tok.model_max_length == 77
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(SD15_CONFIG / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(SD15_CONFIG / "vae"))
        te = CLIPTextModel(CLIPTextConfig.from_pretrained(SD15_CONFIG / "text_encoder"))
    count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    assert round(count(unet)) == 860 and round(count(vae)) == 84 and round(count(te)) == 123


def test_a_file_that_is_not_a_checkpoint_is_one_sentence(tmp_path):
    import pytest

    from almost.errors import UserError
    from almost_ddpo.loaders import load_single_file

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="could not read .*model.safetensors as a single-file"):
        load_single_file(bad)
