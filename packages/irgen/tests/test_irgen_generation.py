"""Generation is given every eos id the model declares, runs on the model's device, in batches that fit."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gguf_families import build  # noqa: E402


def test_generate_code_passes_every_eos_id(tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost_irgen.generate import generate_code

    folder = build("olmo3", tmp_path / "olmo3")  # generation_config: [<|im_end|>, <|endoftext|>]
    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    im_end, eot = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    assert tok.eos_token_id == eot  # the tokenizer alone knows only one of the two
    seen = {}
    real = model.generate

    def spy(*a, **kw):
        seen.update(kw)
        return real(*a, **kw)

    monkeypatch.setattr(model, "generate", spy)
    irs = [{"class_name": "Spinner", "fields": [], "behaviours": []}]
    generate_code(model, tok, irs, max_new_tokens=4, batch_size=4)
    assert set(seen["eos_token_id"]) == {im_end, eot}
    assert seen["input_ids"].device == model.device


def test_generation_batch_follows_free_memory():
    from almost_irgen.memory import generation_batch, kv_bytes_per_sequence, load_config

    cfg = load_config("qwen2.5-7b")  # GQA: 4 kv heads
    per = kv_bytes_per_sequence(cfg, 1000)
    assert per == 2 * 28 * 4 * 128 * 1000 * 2
    assert generation_batch(cfg, 64, 1000, 10 * per) < 10 <= generation_batch(cfg, 64, 1000, 20 * per)
