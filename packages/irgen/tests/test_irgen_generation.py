"""Generation is given every eos id the model declares, runs on the model's device, in batches that fit."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gguf_families import build  # noqa: E402


def test_generation_passes_every_eos_id_and_batches_to_free_memory(tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost_irgen import memory
    from almost_irgen.generator import LocalModel, conversation

    folder = build("olmo3", tmp_path / "olmo3")  # generation_config: [<|im_end|>, <|endoftext|>]
    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    im_end, eot = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    assert tok.eos_token_id == eot  # the tokenizer alone knows only one of the two
    seen = {}
    rows = []
    real = model.generate

    def spy(*a, **kw):
        seen.update(kw)
        rows.append(len(kw["input_ids"]))
        return real(*a, **kw)

    monkeypatch.setattr(model, "generate", spy)
    irs = [{"class_name": "Spinner", "fields": [], "behaviours": []}]
    LocalModel(model, tok, batch_size=4).codes(irs, max_new_tokens=4)
    assert set(seen["eos_token_id"]) == {im_end, eot}
    assert seen["input_ids"].device == model.device
    # the one loop sizes its batch to the free memory: room for two sequences' KV cache, batches of two
    irs = irs * 5
    assert rows == [1]
    rows.clear()
    LocalModel(model, tok, batch_size=4).codes(irs, max_new_tokens=4)
    assert rows == [4, 1]  # no limit on a CPU
    rows.clear()
    lm = LocalModel(model, tok, batch_size=4)
    length = len(lm.prompt_ids(conversation(irs[0]))) + 4
    per = memory.kv_bytes_per_sequence(model.config, length, 4) + model.config.vocab_size * 8
    monkeypatch.setattr(memory, "free_device_bytes", lambda device: int(2 * per / 0.85) + 1)
    lm.codes(irs, max_new_tokens=4)
    assert rows == [2, 2, 1]


def test_generation_batch_follows_free_memory():
    from almost_irgen.memory import generation_batch, kv_bytes_per_sequence, load_config

    cfg = load_config("qwen2.5-7b")  # GQA: 4 kv heads
    per = kv_bytes_per_sequence(cfg, 1000)
    assert per == 2 * 28 * 4 * 128 * 1000 * 2
    assert generation_batch(cfg, 64, 1000, 10 * per) < 10 <= generation_batch(cfg, 64, 1000, 20 * per)
