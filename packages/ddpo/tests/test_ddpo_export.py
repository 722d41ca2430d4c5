"""LoRA export: the kohya file has the right keys, shapes and the real alpha; the diffusers
file loads back into a pipeline and reproduces the trained UNet."""

from __future__ import annotations

import torch

from almost_ddpo.lora import add_lora, load_lora_into, lora_state_dict, save_lora, to_kohya


def _tiny_unet():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        norm_num_groups=8, cross_attention_dim=16, attention_head_dim=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    )


def _trained_lora(unet, rank=4, alpha=16.0):
    cfg = add_lora(unet, rank, alpha, ["to_q", "to_k", "to_v", "to_out.0"])
    with torch.no_grad():
        for n, p in unet.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)  # a "trained" LoRA: B is no longer zero
    return cfg


def test_kohya_export_keys_shapes_and_real_alpha(tmp_path):
    from safetensors.torch import load_file

    from almost.checkpoint import save_safetensors

    unet = _tiny_unet()
    _trained_lora(unet, rank=4, alpha=16.0)
    peft_sd = lora_state_dict(unet)
    path = save_safetensors(to_kohya(peft_sd, 16.0), tmp_path / "kohya.safetensors")
    kohya = load_file(str(path))

    downs = [k for k in kohya if k.endswith(".lora_down.weight")]
    assert len(downs) == len(peft_sd) // 2 > 0
    for k in downs:
        base = k[: -len(".lora_down.weight")]
        assert base.startswith("lora_unet_") and "." not in base, base
        up, alpha = kohya[f"{base}.lora_up.weight"], kohya[f"{base}.alpha"]
        assert kohya[k].shape[0] == 4 and up.shape[1] == 4  # (rank, in) and (out, rank)
        assert float(alpha) == 16.0  # the real lora_alpha, not diffusers' alpha = rank
    # the weights are the peft A/B matrices, unchanged
    q = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"
    a = next(v for k, v in peft_sd.items() if "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A" in k)
    assert torch.equal(kohya[f"{q}.lora_down.weight"], a)


def test_diffusers_and_peft_exports_load_back_and_match(tmp_path, tiny_model_dir):
    from almost_ddpo.model import load_pipeline

    pipe = load_pipeline(tiny_model_dir)
    cfg = _trained_lora(pipe.unet, rank=2, alpha=6.0)
    save_lora(pipe.unet, cfg, tmp_path / "lora")
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    emb = torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = pipe.unet(x, 500, encoder_hidden_states=emb).sample
        base = load_pipeline(tiny_model_dir)
        plain = base.unet(x, 500, encoder_hidden_states=emb).sample
    assert not torch.allclose(want, plain, atol=1e-5)  # the LoRA changes the output
    # peft layout → our loader
    again = load_pipeline(tiny_model_dir)
    loaded = load_lora_into(again.unet, tmp_path / "lora")
    assert loaded.lora_alpha == 6.0 and loaded.r == 2
    with torch.no_grad():
        assert torch.allclose(again.unet(x, 500, encoder_hidden_states=emb).sample, want, atol=1e-5)
    # diffusers layout → pipe.load_lora_weights (what users of diffusers call)
    third = load_pipeline(tiny_model_dir)
    third.load_lora_weights(tmp_path / "lora", weight_name="pytorch_lora_weights.safetensors")
    with torch.no_grad():
        assert torch.allclose(third.unet(x, 500, encoder_hidden_states=emb).sample, want, atol=1e-5)
