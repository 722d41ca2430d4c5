"""Tiny random models of every GGUF family, each with a tokenizer trained here (no hub)."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    "public class Spinner : MonoBehaviour { void Update() { transform.Rotate(0f, 90f * Time.deltaTime, 0f); } }",
    '{"name": "Spinner", "fields": [{"name": "speed", "type": "float", "default": 90}]}',
    "Write the Unity C# script for this IR spec. The quick brown fox jumps over the lazy dog 12345.",
    "if (Input.GetKeyDown(KeyCode.Space)) { rb.AddForce(Vector3.up * jumpForce); }",
] * 8

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
          "{{ m['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}"
          "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")
MISTRAL = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}\n\n"
           "{% elif m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]{% else %}{{ m['content'] }}{{ eos_token }}"
           "{% endif %}{% endfor %}")
GEMMA = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first = messages[0]['content'] + '\n\n' %}"
         "{% set messages = messages[1:] %}{% else %}{% set first = '' %}{% endif %}{% for m in messages %}"
         "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ first if loop.first else '' }}"
         "{{ m['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")


def byte_bpe(split: str | None, specials: list[str], bos: str, eos: str, pad: str, template: str):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    if split:
        bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split), behavior="isolated"),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=360, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=bos, eos_token=eos, pad_token=pad, unk_token=pad)
    tok.chat_template = template
    return tok


def spm_bpe(cls_name: str, specials: list[str], template: str, **kw):
    """A SentencePiece-style BPE (byte fallback, ▁ for spaces) as Mistral, CodeLlama and Gemma ship."""
    import transformers
    from tokenizers import SentencePieceBPETokenizer

    t = SentencePieceBPETokenizer()
    t.train_from_iterator(CORPUS, vocab_size=300, show_progress=False)
    model = json.loads(t.to_str())["model"]
    vocab = {s: i for i, s in enumerate(specials)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1]):
        vocab.setdefault(piece, len(vocab))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tok = getattr(transformers, cls_name)(vocab=vocab, merges=merges, **kw)
    turn_marks = [s for s in specials if s not in tok.all_special_tokens]
    if turn_marks:  # Gemma's <start_of_turn>/<end_of_turn> are special tokens, as in the real tokenizer
        tok.add_special_tokens({"additional_special_tokens": turn_marks})
    tok.chat_template = template
    return tok


def build(family: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny ``family`` model (2 layers, 64 wide) and its tokenizer into ``folder``."""
    import torch
    import transformers as tf

    from almost_irgen.gguf_vocab import LLAMA3_SPLIT, QWEN2_SPLIT

    chatml = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    if family in ("llama", "llama3.1"):
        tok = byte_bpe(LLAMA3_SPLIT, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                                      "<|end_header_id|>"], "<|begin_of_text|>", "<|end_of_text|>", "<|end_of_text|>", LLAMA3)
    elif family == "qwen2":
        tok = byte_bpe(QWEN2_SPLIT, chatml, None, "<|im_end|>", "<|endoftext|>", CHATML)
    elif family in ("olmo2", "olmo3"):
        tok = byte_bpe(LLAMA3_SPLIT, chatml, None, "<|endoftext|>", "<|endoftext|>", CHATML)
    elif family == "mistral":
        tok = spm_bpe("LlamaTokenizer", ["<unk>", "<s>", "</s>"], MISTRAL)
    else:  # gemma, gemma2, gemma3
        tok = spm_bpe("GemmaTokenizer", ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>",
                                         "<end_of_turn>"], GEMMA)
    common = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    if family == "llama":
        cfg = tf.LlamaConfig(**common, tie_word_embeddings=False, rope_theta=500000.0)
    elif family == "llama3.1":
        cfg = tf.LlamaConfig(**common, tie_word_embeddings=False, rope_parameters={
            "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 64})
    elif family == "mistral":
        cfg = tf.MistralConfig(**common, sliding_window=None, tie_word_embeddings=False)
    elif family == "qwen2":
        cfg = tf.Qwen2Config(**common, tie_word_embeddings=True)
    elif family == "olmo2":
        cfg = tf.Olmo2Config(**common, tie_word_embeddings=False)
    elif family == "olmo3":
        common["eos_token_id"] = [tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id]  # OLMo's two eos ids
        cfg = tf.Olmo3Config(**common, sliding_window=64, tie_word_embeddings=False)
    elif family == "gemma":
        cfg = tf.GemmaConfig(**{**common, "num_key_value_heads": 1}, head_dim=16)
    elif family == "gemma2":
        cfg = tf.Gemma2Config(**common, head_dim=16, sliding_window=4096)
    elif family == "gemma3":
        cfg = tf.Gemma3TextConfig(**common, head_dim=16, sliding_window=4096)
    else:
        raise ValueError(family)
    torch.manual_seed(seed)
    model = tf.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    with torch.no_grad():  # random norms (HF inits them to 1 or 0): a wrong norm offset must show
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(torch.rand_like(p) * 0.5 + (0.75 if not family.startswith("gemma") else -0.25))
            elif n.endswith(".bias"):
                p.normal_(0, 0.5)
    model.generation_config.eos_token_id = cfg.eos_token_id
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
