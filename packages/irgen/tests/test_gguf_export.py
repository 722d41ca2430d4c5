"""GGUF export: the ``gguf`` reader reads a tiny Llama's file back and transformers loads it to the
same logits; per model family, a tiny random model of each, converted with ``almost irgen gguf
--outtype f32``, read back by transformers' own GGUF loader, gives the same logits and greedy tokens.

transformers (5.23 here) reads llama, mistral, qwen2, gemma2 and gemma3 GGUF files as they are.
It has no entry for ``olmo2`` (OLMo 2 and OLMo 3 files) nor ``gemma`` (Gemma 1): for those the test
registers the architecture's llama.cpp key names with transformers' loader (``_teach``) and the
rest is transformers' own code (tensor name map from ``gguf``, Gemma's norm offset). It also
ignores ``rope_freqs``: the Llama 3.1 case checks that tensor against transformers' own llama3
frequencies instead of through generation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gguf_families import build  # noqa: E402

from almost_irgen.gguf_export import write_gguf  # noqa: E402
from almost_irgen.model import load_model, load_tokenizer  # noqa: E402

FAMILIES = ["llama", "llama3.1", "mistral", "qwen2", "olmo2", "olmo3", "gemma", "gemma2", "gemma3"]
PRE = {"llama": "llama-bpe", "llama3.1": "llama-bpe", "qwen2": "qwen2", "olmo2": "llama-bpe", "olmo3": "llama-bpe"}
ARCH = {"llama": "llama", "llama3.1": "llama", "mistral": "llama", "qwen2": "qwen2", "olmo2": "olmo2",
        "olmo3": "olmo2", "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3"}
SAMPLE = "public class Spinner : MonoBehaviour { float speed = 90f; } 12345"


def _teach(monkeypatch, arch: str) -> bool:
    """Register ``arch`` with transformers' GGUF loader if it lacks it; True when it had to."""
    from transformers import modeling_gguf_pytorch_utils as mg
    from transformers.integrations import ggml

    if arch in mg.GGUF_SUPPORTED_ARCHITECTURES:
        return False
    like = {"olmo2": "llama", "gemma": "gemma2"}[arch]
    monkeypatch.setitem(ggml.GGUF_CONFIG_MAPPING, arch, dict(ggml.GGUF_CONFIG_MAPPING[like]))
    monkeypatch.setattr(mg, "GGUF_SUPPORTED_ARCHITECTURES", [*mg.GGUF_SUPPORTED_ARCHITECTURES, arch])
    if arch == "gemma":  # the file stores 1 + w, as for Gemma 2/3
        monkeypatch.setitem(mg.TENSOR_PROCESSORS, "gemma", mg.Gemma2TensorProcessor)
    return True


def _field(reader, key):
    f = reader.fields[key]
    if len(f.data) == 1:
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0].name == "STRING" else v.tolist()[0]
    return [f.parts[i].tolist()[0] for i in f.data]


@pytest.mark.parametrize("family", FAMILIES)
def test_family_round_trips_through_transformers_gguf_loader(tmp_path, monkeypatch, family):
    import gguf
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from almost.testing import run_cli

    folder = build(family, tmp_path / f"tiny-{family}")
    out = tmp_path / f"{family}.f32.gguf"
    code, text, err = run_cli(["irgen", "gguf", str(folder), str(out), "--outtype", "f32"])
    assert code == 0, text + err

    reader = gguf.GGUFReader(out)
    assert _field(reader, "general.architecture") == ARCH[family]
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in reader.tensors)
    if family in PRE:
        assert _field(reader, "tokenizer.ggml.model") == "gpt2"
        assert _field(reader, "tokenizer.ggml.pre") == PRE[family]
    else:  # SentencePiece: byte tokens typed BYTE, scores replay the merges
        assert _field(reader, "tokenizer.ggml.model") == "llama"
        types = reader.fields["tokenizer.ggml.token_type"]
        assert sum(int(types.parts[i][0]) == gguf.TokenType.BYTE for i in types.data) == 256
    names = {t.name for t in reader.tensors}
    if family == "qwen2":
        assert "blk.0.attn_q.bias" in names and "blk.0.attn_k.bias" in names
    if family.startswith("olmo"):
        assert "blk.1.attn_q_norm.weight" in names and "blk.1.post_ffw_norm.weight" in names
    if family == "olmo3":
        assert _field(reader, f"{ARCH[family]}.attention.sliding_window_pattern") == [True, True]
        assert _field(reader, "tokenizer.ggml.eot_token_id") is not None  # the second eos id

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    if family == "llama3.1":  # rope_freqs = default inverse frequencies / llama3-scaled ones
        import numpy as np

        freqs = next(t for t in reader.tensors if t.name == "rope_freqs.weight").data
        hd = model.config.head_dim
        default = 1.0 / (500000.0 ** (torch.arange(0, hd, 2).float() / hd))
        want = (default / model.model.rotary_emb.inv_freq.float()).numpy()
        assert not np.allclose(want, 1.0) and np.allclose(freqs, want, rtol=1e-5)

    taught = _teach(monkeypatch, ARCH[family])
    # transformers' loader takes Gemma 2/3's query_pre_attn_scalar as 256; the file holds queries rescaled
    # to llama.cpp's 1/sqrt(head_dim) (gguf_export.query_scale), so read it back with that scalar
    extra = {"query_pre_attn_scalar": model.config.head_dim} if ARCH[family] in ("gemma2", "gemma3") else {}
    back = AutoModelForCausalLM.from_pretrained(out.parent, gguf_file=out.name, dtype=torch.float32, **extra).eval()
    enc = tok.apply_chat_template([{"role": "user", "content": SAMPLE}], add_generation_prompt=True, tokenize=True)
    ids = torch.tensor([enc["input_ids"] if hasattr(enc, "keys") else enc])
    with torch.no_grad():
        a, b = model(ids).logits, back(ids).logits
    if family != "llama3.1":  # transformers' loader drops the llama3 rope scaling (checked above instead)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    greedy = dict(max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    assert model.generate(ids, **greedy)[0].tolist() == back.generate(ids, **greedy)[0].tolist()
    # and the tokenizer transformers rebuilds from the file splits text the same way
    tok_back = AutoTokenizer.from_pretrained(out.parent, gguf_file=out.name)
    assert tok_back(SAMPLE)["input_ids"] == tok(SAMPLE)["input_ids"]
    assert taught == (ARCH[family] in ("olmo2", "gemma"))  # the report's list of unreadable families stays true


def test_q8_0_and_f16_are_quantised_and_close(tmp_path):
    import gguf
    import torch
    from transformers import AutoModelForCausalLM

    from almost_irgen.gguf_export import convert

    folder = build("qwen2", tmp_path / "tiny-qwen2")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = torch.tensor([[5, 17, 42, 99, 123, 7]])
    for outtype, kind, atol in (("f16", gguf.GGMLQuantizationType.F16, 2e-2), ("q8_0", gguf.GGMLQuantizationType.Q8_0, 8e-2)):
        out = convert(folder, tmp_path / f"m.{outtype}.gguf", outtype)
        reader = gguf.GGUFReader(out)
        t = {x.name: x for x in reader.tensors}
        assert t["blk.0.ffn_up.weight"].tensor_type == kind
        assert t["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
        back = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file=out.name, dtype=torch.float32).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(ids).logits, back(ids).logits, atol=atol, rtol=0)


def test_unsupported_family_and_outtype_are_one_sentence(tmp_path):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from almost.testing import run_cli

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64)).save_pretrained(tmp_path / "gpt2")
    code, out, err = run_cli(["irgen", "gguf", str(tmp_path / "gpt2"), str(tmp_path / "x.gguf")])
    assert code != 0 and "gpt2" in out + err and "Traceback" not in out + err
    code, out, err = run_cli(["irgen", "gguf", str(tmp_path / "gpt2"), str(tmp_path / "x.gguf"), "--outtype", "q4"])
    assert code != 0 and "Traceback" not in out + err


@pytest.mark.parametrize("file_type, atol", [("f16", 2e-2), ("q8_0", 6e-2)])
def test_gguf_reads_back_and_loads_in_transformers(tmp_path, tiny_model_dir, file_type, atol):
    import gguf
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM

    model, tok = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    path = write_gguf(model, tok, tmp_path / f"m.{file_type}.gguf", file_type)
    reader = gguf.GGUFReader(path)
    fields = reader.fields
    arch = bytes(fields["general.architecture"].parts[-1]).decode()
    assert arch == "llama"
    assert int(fields["llama.block_count"].parts[-1][0]) == 2
    assert int(fields["llama.attention.head_count_kv"].parts[-1][0]) == 2
    assert len(fields["tokenizer.ggml.tokens"].data) == len(tok)
    names = {t.name: t for t in reader.tensors}
    assert "token_embd.weight" in names and "blk.1.ffn_down.weight" in names and "output_norm.weight" in names
    want = gguf.GGMLQuantizationType.F16 if file_type == "f16" else gguf.GGMLQuantizationType.Q8_0
    assert names["blk.0.attn_q.weight"].tensor_type == want
    assert names["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    # transformers de-quantises and un-permutes it: same model, same logits (up to rounding)
    back = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file=path.name, dtype=torch.float32)
    ids = torch.tensor([tok("public class Spinner : MonoBehaviour")["input_ids"]])
    with torch.no_grad():
        a, b = model(ids).logits, back(ids).logits
    assert np.allclose(a.numpy(), b.numpy(), atol=atol), float((a - b).abs().max())
