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

    from almost.train.checkpoint import save_safetensors

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


def _lora_modules(unet) -> set[str]:
    return {n for n, m in unet.named_modules() if hasattr(m, "lora_A") and len(m.lora_A) > 0}


def test_diffusers_and_peft_exports_load_completely_and_match(tmp_path, tiny_model_dir):
    """Attention and conv targets: the diffusers file has one key style, ``load_lora_weights``
    attaches every LoRA layer, and its images equal the peft-trained model's."""
    import warnings

    from safetensors.torch import load_file

    from almost_ddpo.loaders import load_pipeline
    from almost_ddpo.sampling import sample_images

    targets = ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"]
    pipe = load_pipeline(tiny_model_dir)
    cfg = add_lora(pipe.unet, 2, 6.0, targets, seed=0)
    with torch.no_grad():
        for n, p in pipe.unet.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(hash(n) % 1000))
    save_lora(pipe.unet, cfg, tmp_path / "lora")
    trained = _lora_modules(pipe.unet)
    assert any("conv1" in n for n in trained) and any("to_q" in n for n in trained)

    keys = list(load_file(str(tmp_path / "lora" / "pytorch_lora_weights.safetensors")))
    assert len(keys) == 2 * len(trained)
    assert all(k.startswith("unet.") and (k.endswith(".lora_A.weight") or k.endswith(".lora_B.weight"))
               for k in keys), [k for k in keys if ".lora_A." not in k and ".lora_B." not in k][:3]

    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    emb = torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = pipe.unet(x, 500, encoder_hidden_states=emb).sample
        plain = load_pipeline(tiny_model_dir).unet(x, 500, encoder_hidden_states=emb).sample
    assert not torch.allclose(want, plain, atol=1e-4)  # the LoRA changes the output
    # peft layout → our loader
    again = load_pipeline(tiny_model_dir)
    loaded = load_lora_into(again.unet, tmp_path / "lora")
    assert loaded.lora_alpha == 6.0 and loaded.r == 2
    with torch.no_grad():
        assert torch.allclose(again.unet(x, 500, encoder_hidden_states=emb).sample, want, atol=1e-5)
    # diffusers layout → pipe.load_lora_weights (what users of diffusers call): every layer, no warning
    third = load_pipeline(tiny_model_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        third.load_lora_weights(tmp_path / "lora", weight_name="pytorch_lora_weights.safetensors")
    assert _lora_modules(third.unet) == trained
    with torch.no_grad():
        assert torch.allclose(third.unet(x, 500, encoder_hidden_states=emb).sample, want, atol=1e-5)
    kw = dict(steps=3, guidance=3.0, eta=1.0)
    ims_peft, _ = sample_images(pipe, ["a red circle", "a blue square"], [1, 2], **kw)
    ims_diff, _ = sample_images(third, ["a red circle", "a blue square"], [1, 2], **kw)
    ims_base, _ = sample_images(load_pipeline(tiny_model_dir), ["a red circle", "a blue square"], [1, 2], **kw)
    assert (ims_peft - ims_diff).abs().max() < 1e-4
    assert (ims_peft - ims_base).abs().max() > 1e-3


def test_lora_init_is_seeded():
    """Same seed → bitwise-equal LoRA tensors (peft draws lora_A from torch's global RNG)."""
    from almost_ddpo.lora import lora_state_dict

    def init(seed):
        unet = _tiny_unet()
        torch.manual_seed(1234 + seed)  # whatever the global RNG holds, the seed decides
        add_lora(unet, 4, 4.0, ["to_q", "to_k", "conv1"], seed=seed)
        return lora_state_dict(unet)

    a, b, c = init(7), init(7), init(8)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if "lora_A" in k)
