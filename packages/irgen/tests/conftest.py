"""Shared fixtures: a tiny Llama built from a config with an offline byte-level BPE tokenizer."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from almost_irgen.model import CHATML


def _corpus(n: int = 60) -> list[str]:
    from almost_irgen.ir import dumps
    from almost_irgen.rules import generate
    from almost_irgen.synthgen import Size, random_ir

    rng = random.Random(0)
    irs = [random_ir(rng, Size(2, 1, 2)) for _ in range(n)]
    return [dumps(ir) for ir in irs] + [generate(ir) for ir in irs]


def build_tiny_model(folder: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 64-dim Llama and its tokenizer (trained here, offline) into ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(_corpus(), trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.chat_template = CHATML
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))
