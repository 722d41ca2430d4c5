"""The one prompt encoder: the same embeddings, bit for bit, as the tokenizer and text encoder
called directly (per token for the UNet, pooled for the reward head), and the same token ids the
pretrain stage trains on."""

from __future__ import annotations

import torch

from almost_ddpo.encoding import encode_prompts, prompt_ids

PROMPTS = ["a red circle", "a blue square", ""]


def test_encode_prompts_is_the_text_encoder_bit_for_bit(tiny_pipe):
    tok, te = tiny_pipe.tokenizer, tiny_pipe.text_encoder
    ids = tok(PROMPTS, padding="max_length", max_length=tok.model_max_length, truncation=True,
              return_tensors="pt").input_ids
    with torch.no_grad():
        hidden, pooled = te(ids)[:2]
    got = encode_prompts(tiny_pipe, PROMPTS)
    assert got.shape == (3, tok.model_max_length, te.config.hidden_size) and torch.equal(got, hidden)
    vec = encode_prompts(tiny_pipe, PROMPTS, pooled=True)
    assert vec.dtype == torch.float32 and torch.equal(vec, pooled.float())
    assert not torch.equal(got[0], got[1])  # different prompts, different embeddings


def test_prompt_ids_pad_to_the_model_length_as_pretrain_did(tiny_pipe):
    tok = tiny_pipe.tokenizer
    old = tok(PROMPTS, padding="max_length", max_length=tok.model_max_length, return_tensors="pt").input_ids
    assert torch.equal(prompt_ids(tok, PROMPTS), old)
    assert prompt_ids(tok, ["a red circle " * 10]).shape == (1, tok.model_max_length)  # cut, not an error
