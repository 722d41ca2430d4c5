"""A tiny Llama taught one (sentence, IR, C#) triplet, saved as an irgen run folder.

The tiny model from ``conftest.build_tiny_model`` is trained (all weights, ~10 s on one CPU
thread) until it answers the sentence with the IR and the IR with the rule generator's C#;
the run folder then holds ``config.toml`` (``model.base`` = that model) and an identity LoRA
as ``train/adapter``, which is what ``Generator.from_run``, ``generate`` and ``serve`` load.
"""

from __future__ import annotations

from pathlib import Path

SENTENCE = "a coin that spins and disappears when the player touches it"
IR = {"ir_version": "1.0", "class_name": "Coin", "fields": [{"name": "speed", "type": "float", "default": 90}],
      "behaviours": [{"trigger": {"event": "update"},
                      "actions": [{"op": "rotate", "axis": "y", "degrees_per_second": "speed"}]},
                     {"trigger": {"event": "on_trigger_enter"}, "condition": {"kind": "tag", "tag": "Player"},
                      "actions": [{"op": "destroy", "target": "self"}]}]}


def fit_examples(model, examples: list, max_steps: int, stop_below: float) -> None:
    """Train every weight of ``model`` on ``(ids, labels)`` examples (AdamW 3e-3, seed 0, one
    step per pass over them) until their summed loss is below ``stop_below``."""
    import torch

    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(max_steps):
        total = 0.0
        for ids, labels in examples:
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
            loss.backward()
            total += loss.item()
        opt.step()
        opt.zero_grad()
        if total < stop_below:
            break


def teach(tiny_dir: Path, out: Path, max_steps: int = 300) -> Path:
    """Train a copy of the tiny model on the triplet; write the run folder ``out``; return it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost_irgen.model import encode
    from almost_irgen.rules import generate
    from almost_irgen.sharegpt import record
    from almost_irgen.text2ir import text_record

    if (out / "done").is_file():
        return out
    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    examples = [encode(tok, r["conversations"]) for r in (text_record(SENTENCE, IR), record(IR, generate(IR), SENTENCE))]
    fit_examples(model, examples, max_steps, stop_below=0.03)
    base = out / "taught-model"
    model.save_pretrained(base)
    tok.save_pretrained(base)
    torch.manual_seed(0)
    peft = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                          LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    peft.save_pretrained(out / "train" / "adapter")  # B starts at zero: the adapter changes nothing yet
    (out / "config.toml").write_text(f'[model]\nbase = "{base}"\n\n[evaluate]\nmax_new_tokens = 400\n'
                                     'batch_size = 4\n', encoding="utf-8")
    (out / "done").write_text("ok\n")
    return out
