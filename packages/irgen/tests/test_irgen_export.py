"""GGUF export: the ``gguf`` reader reads it back, and transformers loads it to the same logits."""

from __future__ import annotations

import pytest

from almost_irgen.gguf_export import write_gguf
from almost_irgen.model import load_model, load_tokenizer


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


def test_export_stage_writes_adapter_merged_gguf_and_modelfile(tmp_path, tiny_model_dir):
    import json

    from almost.testing import run_cli

    args = ["run", "--plugin", "irgen", "synth", "prepare", "train", "export", "--out", str(tmp_path),
            "--set", f"model.base={tiny_model_dir}", "--set", "synth.count=30", "--set", "train.max_steps=1",
            "--set", "export.gguf=f16"]
    code, out, err = run_cli(args)
    assert code == 0, out + err
    ex = tmp_path / "export"
    assert (ex / "adapter" / "adapter_model.safetensors").is_file()
    assert (ex / "merged" / "config.json").is_file() and (ex / "merged" / "model.safetensors").is_file()
    modelfile = (ex / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./irgen.f16.gguf") and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert json.loads((tmp_path / "metrics.json").read_text())["export"]["gguf_mb"] > 0
