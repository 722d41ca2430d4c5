"""Writing a merged Llama-family model as a GGUF file that llama.cpp, Ollama and LM Studio load.

Uses the ``gguf`` package's writer: architecture metadata from the transformers config,
the byte-level BPE tokenizer (tokens, types, merges, special ids, chat template) from the
transformers tokenizer, and the tensors renamed with ``gguf``'s own name map. Q and K
projection rows are permuted back to llama.cpp's rotary layout (the inverse of what
transformers does when it loads a GGUF). 2-D weights are stored as f16 or q8_0, norms f32.
"""

from __future__ import annotations

import json
from pathlib import Path

from almost.errors import UserError
from almost.io import atomic_path


def _permute(w, n_head: int):
    # HF rotary layout → llama.cpp's (interleaved pairs); the inverse of transformers' reverse_permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _tokenizer_metadata(writer, tok) -> None:
    import gguf

    data = json.loads(tok.backend_tokenizer.to_str())
    model = data["model"]
    if model.get("type") != "BPE":
        raise UserError("GGUF export supports byte-level BPE tokenizers (Llama 3, Qwen, SmolLM2, OLMo); "
                        f"this one is {model.get('type')!r}: set export.gguf=none")
    vocab = model["vocab"]
    added = {t["content"]: t["id"] for t in data.get("added_tokens", [])}
    size = max([*vocab.values(), *added.values()]) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [gguf.TokenType.UNUSED] * size
    for t, i in vocab.items():
        tokens[i], types[i] = t, gguf.TokenType.NORMAL
    for t, i in added.items():
        tokens[i], types[i] = t, gguf.TokenType.CONTROL
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for name, tid in (("bos", tok.bos_token_id), ("eos", tok.eos_token_id), ("pad", tok.pad_token_id)):
        if tid is not None:
            getattr(writer, f"add_{name}_token_id")(int(tid))
    if tok.chat_template:
        writer.add_chat_template(tok.chat_template)


def write_gguf(model, tok, path: str | Path, file_type: str = "q8_0", name: str = "irgen") -> Path:
    """Write ``model`` (a merged ``LlamaForCausalLM``-style model) to ``path`` as GGUF."""
    import gguf
    import numpy as np

    cfg = model.config
    if cfg.model_type not in ("llama", "mistral", "qwen2", "olmo2", "olmo3") and not cfg.model_type.startswith("llama"):
        raise UserError(f"GGUF export supports Llama-style models, not {cfg.model_type!r}; set export.gguf=none")
    arch = gguf.MODEL_ARCH.LLAMA
    n_head, n_kv = cfg.num_attention_heads, getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta") or getattr(cfg, "rope_theta", 10000.0)
    qtype = {"f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0}[file_type]
    names = gguf.get_tensor_name_map(arch, cfg.num_hidden_layers)
    path = Path(path)
    with atomic_path(path, suffix=".gguf.tmp") as tmp:
        w = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch])
        w.add_name(name)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_block_count(cfg.num_hidden_layers)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(n_head)
        w.add_head_count_kv(n_kv)
        w.add_rope_dimension_count(head_dim)
        w.add_rope_freq_base(float(rope))
        w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
        w.add_vocab_size(cfg.vocab_size)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if file_type == "q8_0" else gguf.LlamaFileType.MOSTLY_F16)
        _tokenizer_metadata(w, tok)
        for hf_name, tensor in model.state_dict().items():
            if hf_name == "lm_head.weight" and getattr(cfg, "tie_word_embeddings", False):
                continue
            if "rotary_emb" in hf_name:
                continue
            data = tensor.detach().float().cpu().numpy()
            if hf_name.endswith("q_proj.weight"):
                data = _permute(data, n_head)
            elif hf_name.endswith("k_proj.weight"):
                data = _permute(data, n_kv)
            new = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if new is None:
                raise UserError(f"GGUF export does not know the tensor {hf_name!r}; set export.gguf=none")
            if data.ndim == 2 and data.shape[-1] % 32 == 0:
                if qtype == gguf.GGMLQuantizationType.F16:
                    w.add_tensor(new, data.astype(np.float16))
                else:
                    w.add_tensor(new, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
            else:
                w.add_tensor(new, data.astype(np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    return path


MODELFILE = '''FROM ./{gguf}
TEMPLATE """{{{{ if .System }}}}<|im_start|>system
{{{{ .System }}}}<|im_end|>
{{{{ end }}}}<|im_start|>user
{{{{ .Prompt }}}}<|im_end|>
<|im_start|>assistant
"""
SYSTEM """{system}"""
PARAMETER stop "<|im_end|>"
PARAMETER temperature 0
'''
