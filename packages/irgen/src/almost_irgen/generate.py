"""Generating C# from IR with a (LoRA-tuned) causal LM, batched, greedy or sampled."""

from __future__ import annotations

import re
from collections.abc import Sequence

from almost.observe.console import progress

from .ir import dumps
from .model import SYSTEM_PROMPT, prompt_ids

_FENCE = re.compile(r"```(?:csharp|cs|c#)?[ \t]*\n(.*?)(?=```|\Z)", re.S | re.I)


def extract_code(text: str) -> str:
    """The C# in a model answer: the first fenced block that declares a class, else the answer
    without its fence lines (small models often open a fence, close it, and open another)."""
    blocks = [m.group(1) for m in _FENCE.finditer(text)]
    for b in blocks:
        if re.search(r"\bclass\b", b):
            return b.strip() + "\n"
    plain = "\n".join(line for line in text.splitlines() if not line.strip().startswith("```"))
    return plain.strip() + "\n"


def conversation(ir: dict) -> list[dict]:
    return [{"from": "system", "value": SYSTEM_PROMPT}, {"from": "human", "value": dumps(ir)}]


def generate_code(model, tok, irs: Sequence[dict], max_new_tokens: int, batch_size: int = 8,
                  temperature: float = 0.0, seed: int = 0, desc: str = "generate") -> list[str]:
    """One C# program per IR (greedy when ``temperature`` is 0)."""
    import torch

    model.eval()
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base, "is_activation_checkpointing", False):  # transformers 5 names, else 4.x
        (getattr(base, "activation_checkpointing_disable", None) or base.gradient_checkpointing_disable)()
    model.config.use_cache = True
    from .gguf_export import eos_ids
    from .memory import free_device_bytes, generation_batch

    stop = eos_ids(base, tok)  # every id that ends a turn (OLMo: <|im_end|> and <|endoftext|>)
    prompt_len = max((len(prompt_ids(tok, conversation(ir))) for ir in irs), default=0)
    # the KV cache grows with batch x (prompt + new tokens): shrink the batch to the free memory
    batch_size = generation_batch(base.config, batch_size, prompt_len + max_new_tokens,
                                  free_device_bytes(model.device), next(model.parameters()).element_size())
    out: list[str] = []
    g = torch.manual_seed(seed)
    del g
    with progress() as bar, torch.no_grad():
        task = bar.add_task(desc, total=len(irs), info="")
        for i in range(0, len(irs), batch_size):
            prompts = [prompt_ids(tok, conversation(ir)) for ir in irs[i:i + batch_size]]
            width = max(len(p) for p in prompts)
            ids = torch.full((len(prompts), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, p in enumerate(prompts):  # left padding
                ids[r, width - len(p):] = torch.tensor(p)
                mask[r, width - len(p):] = 1
            kw = {"do_sample": temperature > 0}
            if temperature > 0:
                kw.update(temperature=temperature, top_p=0.95)
            gen = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device),
                                 max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id,
                                 eos_token_id=stop, **kw)
            for row in gen[:, width:]:
                out.append(extract_code(tok.decode(row, skip_special_tokens=True)))
            bar.advance(task, len(prompts))
    return out
