"""Stage ``export``: the adapter, the merged model, the GGUF file and the Ollama Modelfile."""

from __future__ import annotations


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
