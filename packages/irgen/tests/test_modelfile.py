"""The Modelfile's TEMPLATE renders a conversation exactly as the model's own chat template does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gguf_families import build  # noqa: E402

STOPS = {"llama": "<|eot_id|>", "qwen2": "<|im_end|>", "olmo3": "<|im_end|>", "mistral": "</s>",
         "gemma3": "<end_of_turn>"}


@pytest.mark.parametrize("family", sorted(STOPS))
def test_template_and_stops_come_from_the_chat_template(tmp_path, family):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost_irgen.gguf_export import eos_ids
    from almost_irgen.modelfile import go_template, modelfile, render_go

    folder = build(family, tmp_path / family)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    tpl = go_template(tok)
    system, user, answer = "You write Unity C#.", '{"name": "Spinner"}', "public class Spinner {}"
    bos = tok.bos_token if tok.bos_token and tok("a")["input_ids"][:1] == [tok.bos_token_id] else ""

    def hf(msgs, gen):
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)
        return text[len(bos):] if bos and text.startswith(bos) else text

    conv = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    assert render_go(tpl, system, user) + answer == hf(conv, True) + answer
    assert render_go(tpl, None, user) == hf(conv[1:], True)
    full = hf([*conv, {"role": "assistant", "content": answer}], False)
    assert render_go(tpl, system, user, answer) == full
    text = modelfile(tok, "irgen.q8_0.gguf", system, eos_ids(model, tok))
    assert text.startswith("FROM ./irgen.q8_0.gguf\nTEMPLATE \"\"\"")
    assert f'PARAMETER stop "{STOPS[family]}"' in text
    if family == "olmo3":  # both of OLMo's eos ids stop generation
        assert 'PARAMETER stop "<|endoftext|>"' in text
