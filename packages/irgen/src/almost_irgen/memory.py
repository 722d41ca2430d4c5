"""Peak GPU memory of LoRA / QLoRA training and of generation, estimated on the meta device.

``almost irgen memory [--profile full] [--model DIR|PRESET] [--set train.batch_size=2 ...]``
prints the table. Nothing is allocated: the model is built from its config on the ``meta``
device, so a 7B estimate takes a second on a laptop.

Training peak (bytes), the terms in the order the table prints them:

* ``base weights`` — decoder linears at 4.127 bits (NF4 + double-quantised absmax, as
  bitsandbytes stores them) under ``train.load_in_4bit``, else at the weight dtype; the
  embedding, the output head and the norms stay in the weight dtype (bitsandbytes skips them).
* ``LoRA + AdamW`` — 16 bytes per adapter parameter: fp32 weight, fp32 grad, two fp32 moments.
* ``saved activations`` — what autograd keeps between forward and backward. One decoder layer
  is run forward on meta tensors under ``saved_tensors_hooks`` (frozen base, trainable target
  linears: the same tensors LoRA saves) with a flash-attention stand-in that saves what
  FlashAttention/SDPA-efficient kernels save (q, k, v, output, log-sum-exp). With gradient
  checkpointing only each layer's input is kept, plus one layer's saved tensors while it is
  recomputed in backward; without it, every adapted layer's.
* ``logits + loss`` — tokens × vocab × (dtype + 3 × fp32): the logits, their fp32 upcast in the
  loss, the log-softmax kept for backward and its gradient; this, not the weights, dominates a
  100k-vocabulary model at long rows. ``train`` projects only the answer tokens
  (:func:`almost_irgen.stages.train.answer_loss`), so counting every token is the worst case: a
  row that is all answer.
* ``CUDA context + allocator`` — 0.6 GiB plus 8% of the rest (fragmentation, cuBLAS workspaces).

The test (``tests/test_memory.py``) runs real small models on the CPU and checks the
parameter and saved-activation terms against what torch actually holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

NF4_BITS = 4 + 8 / 64 + 32 / (64 * 256)  # 4-bit codes, 8-bit absmax per 64, fp32 scale per 256 absmax
CONTEXT_BYTES = int(0.6 * 2**30)
SLACK = 0.08
GIB = 2**30

# Configs of the seed's models (public config.json values), so estimates need no download.
PRESETS = {
    "olmo3-7b": {"model_type": "olmo3", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 100278,
                 "max_position_embeddings": 65536, "tie_word_embeddings": False},
    "qwen2.5-7b": {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                   "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
                   "max_position_embeddings": 32768, "tie_word_embeddings": False},
    "llama3.1-8b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                    "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                    "max_position_embeddings": 131072, "tie_word_embeddings": False},
    "mistral-7b": {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32768,
                   "max_position_embeddings": 32768, "tie_word_embeddings": False},
}


def load_config(model: str):
    """A transformers config from a preset name, a folder with config.json, or a config.json path."""
    from transformers import AutoConfig

    from almost.errors import UserError

    if model in PRESETS:
        d = dict(PRESETS[model])
        return AutoConfig.for_model(d.pop("model_type"), **d)
    p = Path(model).expanduser()
    if p.is_file():
        d = json.loads(p.read_text())
        return AutoConfig.for_model(d.pop("model_type"), **d)
    if (p / "config.json").is_file():
        return AutoConfig.from_pretrained(p)
    raise UserError(f"--model {model!r} is neither a preset ({', '.join(PRESETS)}) nor a folder with config.json")


@attrs.frozen
class Estimate:
    parts: dict  # name → bytes
    detail: dict  # extra figures (parameter counts, tokens per step)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def gib(self, name: str | None = None) -> float:
        return (self.total if name is None else self.parts[name]) / GIB


def _meta_model(cfg, dtype):
    import torch
    from transformers import AutoModelForCausalLM

    _register_meta_attention()
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype, attn_implementation="almost_meta_kernel")
    return model


_REGISTERED = False


def _register_meta_attention() -> None:
    """An attention that saves what flash/efficient kernels save; used on meta tensors only."""
    global _REGISTERED
    if _REGISTERED:
        return
    import torch
    from transformers import AttentionInterface

    class _Flash(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v):
            out = torch.empty_like(q)
            lse = q.new_empty(q.shape[:-1], dtype=torch.float32)
            ctx.save_for_backward(q, k, v, out, lse)
            return out

        @staticmethod
        def backward(ctx, g):  # pragma: no cover - never run (meta estimate)
            q, k, v, _, _ = ctx.saved_tensors
            return torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)

    def attention(module, query, key, value, attention_mask, **kw):
        out = _Flash.apply(query, key, value)  # (B, heads, T, d); GQA keys are not expanded (flash reads them)
        return out.transpose(1, 2).contiguous(), None

    AttentionInterface.register("almost_meta_kernel", attention)
    _REGISTERED = True


def count_params(model, targets, adapted_layers: set[int] | None, r: int) -> dict:
    """Parameter counts by role: decoder linears (quantisable), others, LoRA adapter parameters."""
    import torch.nn as nn

    linear, other, lora = 0, 0, 0
    head = model.get_output_embeddings()
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear) and mod is not head:
            linear += mod.weight.numel() + (mod.bias.numel() if mod.bias is not None else 0)
            layer = _layer_index(name)
            if name.rsplit(".", 1)[-1] in targets and (adapted_layers is None or layer in adapted_layers):
                lora += r * (mod.in_features + mod.out_features)
    total = sum(p.numel() for p in model.parameters())  # tied weights counted once
    other = total - linear
    return {"linear": linear, "other": other, "lora": lora, "total": total}


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for a, b in zip(parts, parts[1:]):
        if a == "layers" and b.isdigit():
            return int(b)
    return None


def layer_saved_bytes(model, tokens: int, targets, batch: int = 1) -> int:
    """Bytes autograd saves for one decoder layer's backward (frozen base, trainable targets)."""
    import torch

    layer = model.model.layers[0]
    dtype = next(layer.parameters()).dtype
    device = next(layer.parameters()).device
    for p in model.parameters():
        p.requires_grad_(False)
    for n, mod in layer.named_modules():
        if n.rsplit(".", 1)[-1] in targets and hasattr(mod, "weight"):
            mod.weight.requires_grad_(True)
    h = torch.zeros(batch, tokens, model.config.hidden_size, device=device, dtype=dtype, requires_grad=True)
    pos = torch.arange(tokens, device=device)[None].expand(batch, -1)
    rotary = getattr(model.model, "rotary_emb", None)
    kw = {}
    if rotary is not None:
        try:
            kw["position_embeddings"] = rotary(h, pos)
        except TypeError:  # per-layer-type rotary (Gemma 3): the layer's own type
            kw["position_embeddings"] = rotary(h, pos, getattr(layer, "attention_type", "full_attention"))
    total = 0
    seen: list = []
    params = {id(p) for p in model.parameters()}

    def pack(t):
        nonlocal total
        base = t._base if t._base is not None else t
        if id(t) in params or id(base) in params or any(base is s for s in seen):
            return t
        seen.append(base)
        total += base.numel() * base.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(h, attention_mask=None, position_ids=pos, **kw)
    for p in layer.parameters():
        p.requires_grad_(False)
    return total


def estimate_training(cfg, train, dtype: str = "bfloat16") -> Estimate:
    """Peak memory of one training step for ``cfg`` (a transformers config) and a ``TrainConfig``."""
    import torch

    tdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    wb = torch.tensor([], dtype=tdtype).element_size()
    model = _meta_model(cfg, tdtype)
    n_layers = cfg.num_hidden_layers
    adapted = set(range(n_layers - train.lora_layers, n_layers)) if 0 < train.lora_layers < n_layers else None
    counts = count_params(model, set(train.target_modules), adapted, train.lora_r)
    tokens = train.batch_size * max(train.batch_tokens, train.max_length)
    weights = counts["linear"] * (NF4_BITS / 8 if train.load_in_4bit else wb) + counts["other"] * wb
    lora = counts["lora"] * 16
    per_layer = layer_saved_bytes(model, max(train.batch_tokens, train.max_length), set(train.target_modules),
                                  batch=train.batch_size)
    lora_mid = tokens * train.lora_r * wb * len(train.target_modules)  # lora_A outputs kept for lora_B
    per_layer += lora_mid
    hidden_in = tokens * cfg.hidden_size * wb
    n_back = len(adapted) if adapted else n_layers
    if train.gradient_checkpointing:
        saved = n_layers * hidden_in + per_layer
    else:
        saved = n_back * per_layer
    logits = tokens * cfg.vocab_size * (wb + 12)
    parts = {"base weights": int(weights), "LoRA + AdamW": int(lora), "saved activations": int(saved),
             "logits + loss": int(logits)}
    rest = sum(parts.values())
    parts["CUDA context + allocator"] = int(CONTEXT_BYTES + SLACK * rest)
    return Estimate(parts, {"params": counts["total"], "lora_params": counts["lora"], "tokens_per_step": tokens,
                            "layer_saved_bytes": per_layer})


def kv_bytes_per_sequence(cfg, length: int, dtype_bytes: int = 2) -> int:
    """K and V for every layer of one sequence of ``length`` tokens."""
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return 2 * cfg.num_hidden_layers * heads * head_dim * length * dtype_bytes


def generation_batch(cfg, requested: int, length: int, free_bytes: int | None, dtype_bytes: int = 2) -> int:
    """The largest batch up to ``requested`` whose KV cache (and last-token logits) fit in 85% of ``free_bytes``."""
    if free_bytes is None:
        return requested
    per_seq = kv_bytes_per_sequence(cfg, length, dtype_bytes) + cfg.vocab_size * 4 * 2
    return max(1, min(requested, int(0.85 * free_bytes) // max(per_seq, 1)))


def free_device_bytes(device) -> int | None:
    """Free memory of a CUDA device (None elsewhere: no limit is applied)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    free, _ = torch.cuda.mem_get_info(device)
    return int(free)


def estimate_generation(cfg, weights_bytes: int, batch: int, length: int, dtype_bytes: int = 2) -> dict:
    kv = batch * kv_bytes_per_sequence(cfg, length, dtype_bytes)
    return {"base weights": weights_bytes, "KV cache": kv, "CUDA context + allocator": CONTEXT_BYTES}


def report(cfg, train, dtype: str, evaluate=None, gpu_gb: float = 16.0) -> tuple[Estimate, str]:
    """The estimate and a printable table (also used by ``almost irgen memory``)."""
    est = estimate_training(cfg, train, dtype)
    d = est.detail
    lines = [f"model: {cfg.model_type}, {d['params'] / 1e9:.2f} B parameters, LoRA r={train.lora_r}: "
             f"{d['lora_params'] / 1e6:.1f} M trainable",
             f"step: {train.batch_size} row(s) x {max(train.batch_tokens, train.max_length)} tokens, "
             f"{'4-bit NF4' if train.load_in_4bit else dtype} base, gradient checkpointing "
             f"{'on' if train.gradient_checkpointing else 'off'}"]
    for k, v in est.parts.items():
        lines.append(f"  {k:<26} {v / GIB:6.2f} GiB")
    verdict = "fits" if est.total < gpu_gb * 1e9 else "does NOT fit"
    lines.append(f"  {'estimated training peak':<26} {est.gib():6.2f} GiB = {est.total / 1e9:.1f} GB "
                 f"({verdict} a {gpu_gb:g} GB card)")
    if evaluate is not None:
        wb = est.parts["base weights"]
        length = 512 + evaluate.max_new_tokens
        g = estimate_generation(cfg, wb, evaluate.batch_size, length)
        lines.append(f"generation: batch {evaluate.batch_size} x {length} tokens: KV cache {g['KV cache'] / GIB:.2f} GiB, "
                     f"total {sum(g.values()) / GIB:.2f} GiB (the batch shrinks to fit the free memory at run time)")
    return est, "\n".join(lines)
