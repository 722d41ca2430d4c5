"""Writing a transformers causal LM as a GGUF file that llama.cpp, Ollama and LM Studio load.

``almost irgen gguf MODEL_DIR OUT.gguf --outtype f32|f16|q8_0`` and the ``export`` stage both
come here. No llama.cpp is needed: the ``gguf`` package writes the file, and this module knows,
per family, what llama.cpp expects:

=========  ============  ===========================================================================
family     GGUF arch     what differs
=========  ============  ===========================================================================
llama      llama         Q/K rows permuted to llama.cpp's rotary layout (also their biases);
mistral    llama         Llama 3.1 ``rope_type: llama3`` becomes the ``rope_freqs`` tensor
qwen2      qwen2         Q/K/V biases; NeoX rotary (no permutation)
olmo2/3    olmo2         Q/K RMSNorm (``attn_q_norm``/``attn_k_norm``), norms after attention and
                         MLP; OLMo 3's sliding-window layers as ``sliding_window_pattern``; YaRN
gemma      gemma         RMSNorm weights stored as 1 + w (llama.cpp multiplies by w, HF by 1 + w);
gemma2     gemma2        soft-capping, sliding window, pre/post norms;
gemma3     gemma3        Q/K norms; the sliding layers' own rope base
=========  ============  ===========================================================================

Gemma 2 and 3 scale attention by ``query_pre_attn_scalar ** -0.5``, a number the file cannot hold:
llama.cpp takes ``1/sqrt(head_dim)`` (``1/sqrt(hidden/heads)`` for the 27B layer counts). Where
the model's scalar differs (checkpoints of other sizes, tiny test models), the queries are
rescaled in the file (Q weights for Gemma 2, the Q norm for Gemma 3) so llama.cpp computes the
same attention.

Tensors are written one at a time (a 7B model never sits in memory twice): 2-D weights as
f32, f16 or q8_0 (rows not divisible by 32 fall back to f16), norms and biases as f32.
"""

from __future__ import annotations

import math
from pathlib import Path

from almost.errors import UserError
from almost.io import atomic_path

OUTTYPES = ("f32", "f16", "q8_0")
# model_type → (GGUF arch name, permute Q/K for llama.cpp's interleaved rotary, norm offset)
FAMILIES = {
    "llama": ("llama", True, 0.0),
    "mistral": ("llama", True, 0.0),
    "qwen2": ("qwen2", False, 0.0),
    "olmo2": ("olmo2", False, 0.0),
    "olmo3": ("olmo2", False, 0.0),
    "gemma": ("gemma", False, 1.0),
    "gemma2": ("gemma2", False, 1.0),
    "gemma3_text": ("gemma3", False, 1.0),
}


def family(cfg) -> tuple[str, bool, float]:
    mt = getattr(cfg, "model_type", "?")
    if mt == "gemma3" and hasattr(cfg, "text_config"):
        raise UserError("GGUF export takes the text model of Gemma 3 (Gemma3ForCausalLM), not the vision one")
    if mt not in FAMILIES:
        raise UserError(f"GGUF export supports {', '.join(sorted(FAMILIES))} models, not {mt!r}; "
                        "set export.gguf=none (the merged transformers folder is still written)")
    return FAMILIES[mt]


def _permute(w, n_head: int):
    # HF rotary layout (halves) → llama.cpp's (interleaved pairs); the inverse of transformers' reverse_permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rope(cfg) -> tuple[float, dict, float | None]:
    """``(theta, scaling, sliding_theta)`` from a config (transformers 5 ``rope_parameters`` or 4.x keys)."""
    rp = getattr(cfg, "rope_parameters", None) or {}
    swa = None
    if isinstance(rp, dict) and "full_attention" in rp:  # one dict per layer type
        swa = (rp.get("sliding_attention") or {}).get("rope_theta")
        rp = rp["full_attention"]
    rp = dict(rp or {})
    legacy = getattr(cfg, "rope_scaling", None) or {}
    if not rp.get("rope_type") and legacy:
        rp.update(legacy)
    theta = rp.get("rope_theta") or getattr(cfg, "rope_theta", None) or 10000.0
    if swa is None:
        swa = getattr(cfg, "rope_local_base_freq", None)
    kind = rp.get("rope_type", rp.get("type", "default"))
    return float(theta), ({} if kind in (None, "default") else {**rp, "rope_type": kind}), swa


def llama3_rope_factors(scaling: dict, theta: float, head_dim: int):
    """Llama 3.1's per-frequency divisors (llama.cpp's ``rope_freqs`` tensor): 1 for short wavelengths,
    ``factor`` for long ones, a smooth blend between (Meta's published rule)."""
    import numpy as np

    factor = float(scaling["factor"])
    low, high = float(scaling.get("low_freq_factor", 1.0)), float(scaling.get("high_freq_factor", 4.0))
    old = float(scaling.get("original_max_position_embeddings", 8192))
    out = []
    for i in range(0, head_dim, 2):
        wavelen = 2 * math.pi * theta ** (i / head_dim)
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.asarray(out, dtype=np.float32)


def eos_ids(model, tok) -> list[int]:
    """Every id that ends a turn: generation_config's list (OLMo and Llama 3 have two), then the tokenizer's."""
    gc = getattr(model, "generation_config", None)
    ids = getattr(gc, "eos_token_id", None) if gc is not None else None
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    cfg_ids = getattr(model.config, "eos_token_id", None)
    ids += [cfg_ids] if isinstance(cfg_ids, int) else list(cfg_ids or [])
    if tok is not None and tok.eos_token_id is not None:
        ids.append(tok.eos_token_id)
    return list(dict.fromkeys(int(i) for i in ids))


# the layer counts llama.cpp reads as the 27B models, whose attention scale is 1/sqrt(hidden/heads)
_GEMMA_27B_LAYERS = {"gemma2": 46, "gemma3": 62}


def query_scale(cfg, arch: str, head_dim: int) -> float:
    """The factor on the queries that makes llama.cpp's fixed Gemma attention scale the model's own."""
    scalar = getattr(cfg, "query_pre_attn_scalar", None)
    if arch not in _GEMMA_27B_LAYERS or not scalar:
        return 1.0
    big = cfg.num_hidden_layers == _GEMMA_27B_LAYERS[arch]
    llama_cpp_dim = cfg.hidden_size // cfg.num_attention_heads if big else head_dim
    return math.sqrt(llama_cpp_dim / float(scalar))


def _hparams(w, cfg, arch: str, scaling: dict, swa_theta, theta: float, head_dim: int) -> None:
    import gguf

    n_head = cfg.num_attention_heads
    w.add_context_length(int(cfg.max_position_embeddings))
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(n_head)
    w.add_head_count_kv(getattr(cfg, "num_key_value_heads", None) or n_head)
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(float(getattr(cfg, "rms_norm_eps", 1e-6)))
    w.add_vocab_size(cfg.vocab_size)
    if arch == "llama" or head_dim != cfg.hidden_size // n_head:
        w.add_rope_dimension_count(head_dim)
    if arch.startswith("gemma") or head_dim != cfg.hidden_size // n_head:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    kind = scaling.get("rope_type")
    if kind == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(scaling["factor"]))
    elif kind == "yarn":
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(float(scaling["factor"]))
        if scaling.get("original_max_position_embeddings"):
            w.add_rope_scaling_orig_ctx_len(int(scaling["original_max_position_embeddings"]))
        if scaling.get("attention_factor"):
            w.add_rope_scaling_attn_factors(float(scaling["attention_factor"]))
    elif kind not in (None, "llama3"):
        raise UserError(f"GGUF export does not know rope_type {kind!r}; set export.gguf=none")
    sw = getattr(cfg, "sliding_window", None)
    if arch == "gemma2":
        w.add_attn_logit_softcapping(float(cfg.attn_logit_softcapping or 0.0))
        w.add_final_logit_softcapping(float(cfg.final_logit_softcapping or 0.0))
    if arch in ("gemma2", "gemma3") and sw:
        w.add_sliding_window(int(sw))
    if arch == "gemma3" and swa_theta:
        w.add_rope_freq_base_swa(float(swa_theta))
    types = getattr(cfg, "layer_types", None)
    if arch == "olmo2" and sw and types and "sliding_attention" in types:
        w.add_sliding_window(int(sw))
        w.add_sliding_window_pattern([t == "sliding_attention" for t in types])


def _plan(model, cfg, arch: str, permute: bool, names, head_dim: int, scaling: dict, theta: float):
    """``[(gguf name, hf name or None, transform)]`` for every tensor the file will hold."""
    n_head = cfg.num_attention_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_head
    plan = []
    if scaling.get("rope_type") == "llama3":
        factors = llama3_rope_factors(scaling, theta, head_dim)
        plan.append(("rope_freqs.weight", None, lambda _: factors))
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    for hf_name, _ in model.state_dict().items():
        if "rotary_emb" in hf_name or (hf_name == "lm_head.weight" and tied):
            continue
        new = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise UserError(f"GGUF export does not know the tensor {hf_name!r} of this {cfg.model_type} model; "
                            "set export.gguf=none")
        heads = n_head if ".q_proj." in hf_name else n_kv if ".k_proj." in hf_name else 0
        # Gemma 3 normalises the queries after the projection: its Q norm carries the scale
        scaled = (".q_norm." if arch == "gemma3" else ".q_proj.") in hf_name
        plan.append((new, hf_name, (heads, hf_name.endswith("norm.weight"), scaled)))
    return plan


def write_gguf(model, tok, path: str | Path, outtype: str = "q8_0", name: str = "irgen") -> Path:
    """Write ``model`` (a merged transformers causal LM of a supported family) and ``tok`` to ``path``."""
    import gguf
    import numpy as np

    from .gguf_vocab import write_tokenizer

    if outtype not in OUTTYPES:
        raise UserError(f"--outtype must be one of {', '.join(OUTTYPES)}, not {outtype!r}")
    cfg = model.config
    arch, permute, norm_shift = family(cfg)
    n_head = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    theta, scaling, swa_theta = rope(cfg)
    arch_enum = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch)
    names = gguf.get_tensor_name_map(arch_enum, cfg.num_hidden_layers)
    plan = _plan(model, cfg, arch, permute, names, head_dim, scaling, theta)
    q_scale = query_scale(cfg, arch, head_dim)
    state = model.state_dict()
    qtype = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
             "q8_0": gguf.GGMLQuantizationType.Q8_0}[outtype]
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[outtype]

    def kind_of(shape) -> gguf.GGMLQuantizationType:
        if len(shape) != 2 or qtype == gguf.GGMLQuantizationType.F32:
            return gguf.GGMLQuantizationType.F32
        if qtype == gguf.GGMLQuantizationType.Q8_0 and shape[-1] % 32:
            return gguf.GGMLQuantizationType.F16
        return qtype

    def tensor(item) -> np.ndarray:
        new, hf_name, how = item
        if hf_name is None:
            return how(None)
        heads, is_norm, scaled = how
        data = state[hf_name].detach().float().cpu().numpy()
        if permute and heads:
            data = _permute(data, heads)
        if is_norm and norm_shift:
            data = data + norm_shift
        if scaled and q_scale != 1.0:
            data = data * q_scale
        k = kind_of(data.shape)
        if k == gguf.GGMLQuantizationType.F32:
            return data.astype(np.float32)
        if k == gguf.GGMLQuantizationType.F16:
            return data.astype(np.float16)
        return gguf.quants.quantize(data, k)

    path = Path(path)
    with atomic_path(path, suffix=".gguf.tmp") as tmp:
        w = gguf.GGUFWriter(str(tmp), arch)
        w.add_name(name)
        w.add_file_type(int(ftype))
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
        _hparams(w, cfg, arch, scaling, swa_theta, theta, head_dim)
        write_tokenizer(w, tok, cfg.vocab_size, eos_ids(model, tok))
        np_kind = {gguf.GGMLQuantizationType.F32: np.float32, gguf.GGMLQuantizationType.F16: np.float16}
        for item in plan:  # header first: shapes and sizes without converting anything
            new, hf_name, how = item
            shape = tuple(state[hf_name].shape) if hf_name is not None else (head_dim // 2,)
            k = kind_of(shape) if hf_name is not None else gguf.GGMLQuantizationType.F32
            if k in np_kind:
                nbytes = int(np.prod(shape)) * np.dtype(np_kind[k]).itemsize
                w.add_tensor_info(new, shape, np.dtype(np_kind[k]), nbytes)
            else:
                byte_shape = gguf.quants.quant_shape_to_byte_shape(shape, k)
                w.add_tensor_info(new, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)), raw_dtype=k)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        for item in plan:
            w.write_tensor_data(tensor(item))
        w.close()
    return path


def convert(model_dir: str | Path, out: str | Path, outtype: str = "f16") -> Path:
    """``almost irgen gguf``: a transformers folder (merged or base model) → a GGUF file."""
    import torch

    from .model import base_folder, load_tokenizer

    if outtype not in OUTTYPES:
        raise UserError(f"--outtype must be one of {', '.join(OUTTYPES)}, not {outtype!r}")
    import os

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "almost" / "smollm2-base"
    folder = base_folder(str(model_dir), cache)  # the cache is used only for model_dir == "smollm2"
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(folder)
    family(cfg)  # refuse unsupported families before loading any weights
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32 if outtype == "f32" else torch.bfloat16)
    tok = load_tokenizer(folder, chat_fallback=False)
    name = Path(str(model_dir).rstrip("/")).name or "model"
    return write_gguf(model, tok, out, outtype, name=name)
