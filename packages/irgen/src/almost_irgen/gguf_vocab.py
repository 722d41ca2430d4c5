"""The tokenizer half of a GGUF file, read from a transformers fast tokenizer's ``tokenizer.json``.

Two kinds are supported, the two that llama.cpp's own converter handles for these families:

* **byte-level BPE** (Llama 3, Qwen2, OLMo 2/3, SmolLM2, GPT-2 style): ``tokenizer.ggml.model =
  "gpt2"``, the merges, and ``tokenizer.ggml.pre``, the name llama.cpp uses for the regex that
  splits text before the merges. llama.cpp recognises a pre-tokenizer by a hash of a sample
  encoding; we recognise it from the split regex and flags in ``tokenizer.json`` itself, which is
  what that name stands for.
* **SentencePiece BPE with byte fallback** (Mistral, Llama 2 / CodeLlama, Gemma):
  ``tokenizer.ggml.model = "llama"``, ``<0xNN>`` byte tokens typed BYTE, and scores. A
  ``tokenizer.json`` has no scores, so each token gets minus the rank of the merge that makes
  it: llama.cpp's SentencePiece tokenizer merges the highest-scoring pair first, which then
  replays the BPE merge order exactly. The merges are written too (transformers' GGUF reader
  uses them when present).

Anything else (WordPiece, Unigram) is refused with one sentence.
"""

from __future__ import annotations

import json
import re

from almost.errors import UserError
from almost.observe.console import console

# The split regexes of the common byte-level tokenizers, and the name llama.cpp gives each.
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
GPT4O_SPLIT = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
               r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
               r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPLITS = {LLAMA3_SPLIT: "llama-bpe", QWEN2_SPLIT: "qwen2", GPT4O_SPLIT: "gpt-4o"}

_BYTE = re.compile(r"<0x[0-9A-Fa-f]{2}>")


def _flatten(pre: dict | None) -> list[dict]:
    if not pre:
        return []
    if pre.get("type") == "Sequence":
        return [p for sub in pre.get("pretokenizers", []) for p in _flatten(sub)]
    return [pre]


def pre_tokenizer_name(data: dict) -> str:
    """llama.cpp's name for the pre-tokenizer of a byte-level BPE ``tokenizer.json``."""
    parts = _flatten(data.get("pre_tokenizer"))
    splits = [p["pattern"].get("Regex", p["pattern"].get("String")) for p in parts if p.get("type") == "Split"]
    for s in splits:
        if s in SPLITS:
            return SPLITS[s]
    byte_level = [p for p in parts if p.get("type") == "ByteLevel"]
    digits = [p for p in parts if p.get("type") == "Digits" and p.get("individual_digits")]
    if not splits and byte_level and byte_level[0].get("use_regex", True):
        return "smollm" if digits else "gpt-2"  # SmolLM2: single digits, then GPT-2's regex
    console.print("[yellow]GGUF: unknown pre-tokenizer (split regex not recognised); writing 'default', "
                  "llama.cpp may split text differently from transformers[/]")
    return "default"


def _special_ids(tok) -> dict[str, int]:
    out = {}
    for name in ("bos", "eos", "unk", "pad"):
        tid = getattr(tok, f"{name}_token_id", None)
        if tid is not None:
            out[name] = int(tid)
    return out


def _adds(tok, which: str) -> bool:
    """Whether encoding plain text adds the bos/eos token (what llama.cpp's add_*_token flags mean)."""
    tid = getattr(tok, f"{which}_token_id", None)
    if tid is None:
        return False
    ids = tok("a")["input_ids"]
    return bool(ids) and (ids[0] == tid if which == "bos" else ids[-1] == tid)


def write_tokenizer(writer, tok, vocab_size: int, eos_ids: list[int] | None = None) -> None:
    """Add ``tok``'s vocabulary, merges, special ids and chat template to a ``GGUFWriter``."""
    import gguf

    if not getattr(tok, "is_fast", False) or not hasattr(tok, "backend_tokenizer"):
        raise UserError("GGUF export needs a fast tokenizer (tokenizer.json) next to the model")
    data = json.loads(tok.backend_tokenizer.to_str())
    model = data["model"]
    kind = model.get("type")
    if kind != "BPE":
        raise UserError(f"GGUF export supports BPE tokenizers (byte-level or SentencePiece-style), not {kind}; "
                        "convert the tokenizer to tokenizer.json BPE or set export.gguf=none")
    spm = bool(model.get("byte_fallback"))
    vocab: dict[str, int] = dict(model["vocab"])
    added = {t["content"]: (t["id"], bool(t.get("special"))) for t in data.get("added_tokens", [])}
    size = max(vocab_size, max([*vocab.values(), *(i for i, _ in added.values())]) + 1)  # rows llama.cpp expects
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [gguf.TokenType.UNUSED] * size
    scores = [-1000.0] * size
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    rank = {}
    for r, m in enumerate(merges):
        a, b = m.split(" ", 1)
        rank.setdefault(a + b, r)
    unk = model.get("unk_token")
    for t, i in vocab.items():
        tokens[i] = t
        if spm and _BYTE.fullmatch(t):
            types[i] = gguf.TokenType.BYTE
        elif t == unk:
            types[i] = gguf.TokenType.UNKNOWN
        else:
            types[i] = gguf.TokenType.NORMAL
        scores[i] = -float(rank[t]) if t in rank else 0.0
    for t, (i, special) in added.items():
        tokens[i] = t
        types[i] = gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED
        scores[i] = 0.0
        if spm and t == unk:
            types[i] = gguf.TokenType.UNKNOWN
    if spm:
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_scores(scores)
        parts = _flatten(data.get("pre_tokenizer"))
        meta = [p for p in parts if p.get("type") == "Metaspace"]
        norm = json.dumps(data.get("normalizer") or {})
        prefix = (bool(meta) and meta[0].get("prepend_scheme", "always") != "never") or '"Prepend"' in norm
        writer.add_add_space_prefix(prefix)
    else:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre_tokenizer_name(data))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    if merges:
        writer.add_token_merges(merges)
    ids = _special_ids(tok)
    eos_ids = [int(i) for i in (eos_ids or [])]
    if eos_ids and ids.get("eos") not in eos_ids:
        ids["eos"] = eos_ids[0]
    for name, tid in ids.items():
        {"bos": writer.add_bos_token_id, "eos": writer.add_eos_token_id, "unk": writer.add_unk_token_id,
         "pad": writer.add_pad_token_id}[name](tid)
    others = [i for i in eos_ids if i != ids.get("eos")]
    if others:  # e.g. OLMo's <|im_end|> beside <|endoftext|>: llama.cpp ends generation on either
        writer.add_eot_token_id(others[0])
    writer.add_add_bos_token(_adds(tok, "bos"))
    writer.add_add_eos_token(_adds(tok, "eos"))
    if getattr(tok, "chat_template", None):
        writer.add_chat_template(tok.chat_template)
