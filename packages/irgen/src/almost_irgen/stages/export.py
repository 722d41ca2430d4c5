"""Stage ``export``: the LoRA adapter, the merged model, a GGUF file and an Ollama Modelfile.

Writes ``export/adapter/`` (peft), ``export/merged/`` (``save_pretrained`` + tokenizer,
``export.merged``), ``export/irgen.<type>.gguf`` (``export.gguf`` = q8_0 or f16, written by
:mod:`almost_irgen.gguf_export`, the code behind ``almost irgen gguf``; llama.cpp, Ollama and
LM Studio load it) and ``export/Modelfile`` (``ollama create irgen -f Modelfile``), whose
template and stop tokens come from the model's own chat template.

The adapter is merged into the base in its weight dtype (never into a 4-bit base: that would
round the merged weights to 4 bits), on the GPU when the weights fit its free memory, else on
the CPU. Only the main process writes.
"""

from __future__ import annotations

import shutil

from almost import RunContext
from almost.io import atomic_dir, atomic_write

from ..gguf_export import eos_ids, write_gguf
from ..model import SYSTEM_PROMPT, base_folder, default_device, load_model, load_tokenizer
from ..modelfile import modelfile


def _merge_device(folder):
    import torch

    from ..memory import free_device_bytes

    device = default_device()
    free = free_device_bytes(device)
    if free is None:
        return device if device.type != "cuda" else torch.device("cpu")
    size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    return device if size * 1.3 < free else torch.device("cpu")


def run(ctx: RunContext) -> None:
    from almost.runs import is_main_process

    if not is_main_process():
        return
    cfg = ctx.config.export
    adapter = ctx.find_stage_dir("train") / "adapter"
    if (ctx.round_dir() / "refine" / "adapter").is_dir():  # the RL-refined LoRA, when refine ran
        adapter = ctx.round_dir() / "refine" / "adapter"
    out = ctx.stage_dir()
    shutil.copytree(adapter, out / "adapter", dirs_exist_ok=True)
    ctx.add_artifact(out / "adapter", "adapter")
    folder = base_folder(ctx.config.model.base, ctx.run_dir / "base-model")
    tok = load_tokenizer(folder)
    model = load_model(folder, ctx.config.model.dtype, adapter=adapter, device=_merge_device(folder)).merge_and_unload()
    if cfg.merged:
        with atomic_dir(out / "merged") as tmp:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
        ctx.add_artifact(out / "merged", "merged model")
    if cfg.gguf != "none":
        gguf = write_gguf(model, tok, out / f"irgen.{cfg.gguf}.gguf", cfg.gguf)
        atomic_write(out / "Modelfile", modelfile(tok, gguf.name, SYSTEM_PROMPT, eos_ids(model, tok)))
        ctx.add_artifact(gguf, "GGUF")
        ctx.add_artifact(out / "Modelfile", "Ollama Modelfile")
        ctx.log_metrics(gguf_mb=gguf.stat().st_size / 2**20)
