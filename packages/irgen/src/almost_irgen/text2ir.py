"""Sentence → IR, decoded under the IR's JSON Schema so every answer parses and fits the schema.

Constrained decoding uses **llguidance** (Microsoft's Rust grammar engine; vLLM, SGLang and
llama.cpp use it for structured output). Why it: it takes JSON Schema directly and supports
the keywords the IR uses (``anyOf``/``oneOf``, ``const``, ``enum``, ``pattern``, ``minItems``;
only ``uniqueItems`` is not enforced, and :func:`almost_irgen.ir.problems` checks it after),
it computes each step's allowed-token mask on the CPU in microseconds with no per-schema
index to build (outlines) and no EBNF to hand-write (transformers-cfg), ships abi3 wheels,
and needs no torch.compile or CUDA kernel: the mask is applied here with plain torch ops, so
the same :class:`SchemaLogits` runs with transformers' ``generate`` on a CPU or a GPU.

Two things the schema cannot say (field references, a ``key_down`` trigger's key ...) are
checked after decoding by :func:`almost_irgen.ir.problems`; :func:`parse` returns them so
the generate path can feed them back for a repair round. The schema used for decoding is the
IR schema with each action narrowed to the per-op schemas (:func:`decoding_schema`) and
compact separators, the form :func:`almost_irgen.ir.dumps` writes and training data holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .ir import (
    action_schemas,
    complete_components,
    complete_fields,
    dumps,
    in_key_order,
    problems,
    schema,
)

TEXT_PROMPT = "Write the IR JSON spec (Almost irgen IR 1.0) for this Unity behaviour request."


def decoding_schema() -> dict:
    """The IR schema with every action one of the per-op schemas, compact JSON (no spaces)."""
    s = schema()
    s.pop("$id", None)
    beh = s["properties"]["behaviours"]["items"]
    beh["properties"]["actions"]["items"] = {"anyOf": list(action_schemas().values())}
    s["properties"]["components"].pop("uniqueItems")  # llguidance cannot enforce it: problems() checks it after
    s["x-guidance"] = {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}
    return s


def text_conversation(sentence: str) -> list[dict]:
    """The ShareGPT turns of the sentence → IR task (the gpt turn is added for training)."""
    return [{"from": "system", "value": TEXT_PROMPT}, {"from": "human", "value": sentence.strip()}]


def text_record(prompt: str, ir: dict) -> dict:
    """A training record of the sentence → IR task (the data's triplets hold both)."""
    import hashlib

    answer = dumps(ir)
    return {"id": hashlib.sha1(("text\0" + prompt + "\0" + answer).encode()).hexdigest()[:16], "prompt": prompt,
            "task": "text2ir", "conversations": [*text_conversation(prompt), {"from": "gpt", "value": answer}]}


def parse(text: str) -> tuple[dict | None, list[str]]:
    """``(ir, [])`` for a valid IR answer, else ``(None, ["path: message", ...])``."""
    ir, found, _ = parse_answer(text)
    return ir, found


def parse_answer(text: str) -> tuple[dict | None, list[str], list[str]]:
    """:func:`parse`, and what was added because the answer's ops imply it: components
    (:func:`almost_irgen.ir.complete_components`) and ``"field NAME: TYPE"`` declarations
    (:func:`almost_irgen.ir.complete_fields`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [f"$: not valid JSON ({e.msg} at character {e.pos}; was the answer cut short?)"], []
    data, added = complete_components(data)  # what an op requires follows from the op
    data, fields = complete_fields(data)  # and so does the type of a field an op names
    added = added + [f"field {f}" for f in fields]
    found = problems(data)
    if found:
        return None, [f"{p}: {m}" for p, m in found], added
    return in_key_order(data), [], added  # shown as the model will be prompted with it


def ops_signature(ir: dict) -> list[tuple]:
    """What IR@1 compares: each behaviour's trigger (event, key) and its ops, in order."""
    out = []
    for b in ir.get("behaviours", []):
        t = b.get("trigger", {})
        out.append((t.get("event"), t.get("key"), tuple(a.get("op") for a in b.get("actions", []))))
    return out


def ir_matches(pred: dict | None, ref: dict) -> bool:
    """Valid IR whose triggers and ops match the reference's (names and numbers may differ)."""
    return pred is not None and ops_signature(pred) == ops_signature(ref)


# -- constrained decoding ------------------------------------------------------------------------
_TOKENIZERS: dict[tuple, Any] = {}


def ll_tokenizer(tok, vocab_size: int, eos: Sequence[int]):
    """llguidance's view of a Hugging Face fast tokenizer (built once per tokenizer: ~1 s)."""
    import llguidance.hf

    key = (id(tok), vocab_size, tuple(eos))
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = llguidance.hf.from_tokenizer(tok, n_vocab=vocab_size, eos_token=list(eos)[0])
    return _TOKENIZERS[key]


class SchemaLogits:
    """A transformers ``LogitsProcessor``: row ``i`` may only continue a JSON text valid under ``schema``.

    One llguidance matcher per row follows the tokens generated so far; the allowed-token
    bitmask is computed on the CPU and applied to the logits on their own device.
    """

    def __init__(self, tok, vocab_size: int, eos: Sequence[int], batch: int, schema: dict | None = None) -> None:
        import llguidance

        self.lltok = ll_tokenizer(tok, vocab_size, eos)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema or decoding_schema())
        self.matchers = [llguidance.LLMatcher(self.lltok, grammar) for _ in range(batch)]
        bad = self.matchers[0].get_error() if self.matchers[0].is_error() else ""
        if bad:
            raise ValueError(f"the IR schema does not compile to a grammar: {bad}")
        self.eos = list(eos)
        self.vocab = vocab_size
        self.start: int | None = None

    def __call__(self, input_ids, scores):
        import llguidance.torch as llt
        import torch

        if self.start is None:
            self.start = input_ids.shape[1]
        else:
            for m, t in zip(self.matchers, input_ids[:, -1].tolist()):
                if not m.is_stopped() and not m.is_error():
                    m.consume_token(int(t))
        mask = llt.allocate_token_bitmask(len(self.matchers), self.vocab)
        for i, m in enumerate(self.matchers):
            if m.is_stopped() or m.is_error():  # finished (padding follows) or lost: only an end token
                mask[i].zero_()
                for e in self.eos:
                    mask[i, e // 32] |= (1 << (e % 32)) if e % 32 < 31 else -(1 << 31)
            else:
                llt.fill_next_token_bitmask(m, mask, i)
        bits = (mask.unsqueeze(-1) >> torch.arange(32, dtype=torch.int32)) & 1
        allowed = bits.reshape(len(self.matchers), -1)[:, : scores.shape[-1]].bool().to(scores.device)
        if allowed.shape[-1] < scores.shape[-1]:  # logits wider than the vocabulary: the extra ids stay banned
            pad = torch.zeros(allowed.shape[0], scores.shape[-1] - allowed.shape[-1], dtype=torch.bool,
                              device=scores.device)
            allowed = torch.cat([allowed, pad], dim=-1)
        return scores.masked_fill(~allowed, float("-inf"))
