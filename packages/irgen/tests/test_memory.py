"""The memory estimate's terms against what torch really holds, on small models on the CPU."""

from __future__ import annotations

import attrs
import pytest

from almost_irgen.config import full

SMALL = [
    dict(model_type="llama", hidden_size=64, intermediate_size=176, num_hidden_layers=3, num_attention_heads=4,
         num_key_value_heads=2, vocab_size=300),
    dict(model_type="qwen2", hidden_size=96, intermediate_size=128, num_hidden_layers=2, num_attention_heads=6,
         num_key_value_heads=6, vocab_size=500),
]


def _cfg(d):
    from transformers import AutoConfig

    d = dict(d)
    return AutoConfig.for_model(d.pop("model_type"), **d)


@pytest.mark.parametrize("spec", SMALL, ids=lambda d: d["model_type"])
def test_parameter_terms_match_a_real_model_and_its_optimizer(spec):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from almost_irgen.memory import estimate_training

    cfg = _cfg(spec)
    train = attrs.evolve(full().train, load_in_4bit=False, batch_size=1, batch_tokens=32, max_length=32)
    est = estimate_training(cfg, train, "float32")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    real = sum(p.numel() * p.element_size() for p in model.parameters())
    assert est.parts["base weights"] == real
    peft = get_peft_model(model, LoraConfig(r=train.lora_r, target_modules=list(train.target_modules)))
    trainable = [p for p in peft.parameters() if p.requires_grad]
    assert est.detail["lora_params"] == sum(p.numel() for p in trainable)
    opt = torch.optim.AdamW(trainable)
    ids = torch.randint(0, cfg.vocab_size, (1, 32))
    peft(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if t.dim())
    grads = sum(p.grad.numel() * p.grad.element_size() for p in trainable)
    weights = sum(p.numel() * p.element_size() for p in trainable)
    assert est.parts["LoRA + AdamW"] == state + grads + weights


@pytest.mark.parametrize("spec", SMALL, ids=lambda d: d["model_type"])
def test_saved_activations_of_the_meta_estimate_match_a_real_forward(spec):
    """Autograd's saved tensors in a real CPU forward (all layers, no checkpointing) versus the meta
    device's per-layer figure times the layer count."""
    import torch
    from transformers import AutoModelForCausalLM

    from almost_irgen.memory import _meta_model, layer_saved_bytes

    cfg, T, targets = _cfg(spec), 48, set(full().train.target_modules)
    per_layer = layer_saved_bytes(_meta_model(cfg, torch.float32), T, targets)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, attn_implementation="sdpa")
    for p in model.parameters():
        p.requires_grad_(False)
    for n, m in model.named_modules():
        if n.rsplit(".", 1)[-1] in targets:
            m.weight.requires_grad_(True)
    params = {id(p) for p in model.parameters()}
    seen, total = [], 0

    def pack(t):
        nonlocal total
        base = t._base if t._base is not None else t
        if id(t) not in params and id(base) not in params and not any(base is s for s in seen):
            seen.append(base)
            total += base.numel() * base.element_size()
        return t

    h = model.model.embed_tokens(torch.randint(0, cfg.vocab_size, (1, T))).requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(inputs_embeds=h, use_cache=False)
    # the frozen output head saves nothing; the final norm saves the last hidden state and its rsqrt
    layers_only = total - T * cfg.hidden_size * 4 - T * 4
    ratio = cfg.num_hidden_layers * per_layer / layers_only
    assert 0.8 < ratio < 1.25, (per_layer, layers_only, ratio)


def test_full_profile_fits_16_gb_and_the_command_says_so():
    from almost.testing import run_cli
    from almost_irgen.config import PROFILES
    from almost_irgen.memory import load_config, report

    cfg = full()
    assert cfg.train.load_in_4bit and cfg.train.gradient_checkpointing
    est, _ = report(load_config("olmo3-7b"), cfg.train, cfg.model.dtype)
    assert est.total < 16e9 and est.parts["base weights"] < 5.5 * 2**30
    big = PROFILES["full-24gb"]()
    est24, _ = report(load_config("olmo3-7b"), big.train, big.model.dtype)
    assert est.total < est24.total < 24e9
    no_4bit, _ = report(load_config("olmo3-7b"), attrs.evolve(cfg.train, load_in_4bit=False), "bfloat16")
    assert no_4bit.total > 16e9  # the 4-bit base is what makes it fit
    code, out, err = run_cli(["irgen", "memory", "--profile", "full"])
    assert code == 0, out + err
    assert "fits a 16 GB card" in out and "olmo3" in out


def test_generation_batch_shrinks_to_the_kv_cache_that_fits():
    from almost_irgen.memory import generation_batch, kv_bytes_per_sequence, load_config

    cfg = load_config("olmo3-7b")
    per = kv_bytes_per_sequence(cfg, 1280)
    assert per == 2 * 32 * 32 * 128 * 1280 * 2
    assert generation_batch(cfg, 16, 1280, None) == 16  # CPU: no limit
    assert generation_batch(cfg, 16, 1280, 4 * 2**30) == int(0.85 * 4 * 2**30) // (per + cfg.vocab_size * 8)
    assert generation_batch(cfg, 16, 1280, 1) == 1
