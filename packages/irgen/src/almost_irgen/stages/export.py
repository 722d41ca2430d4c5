"""Stage ``export``: the LoRA adapter, the merged model, a GGUF file and an Ollama Modelfile.

Writes ``export/adapter/`` (peft), ``export/merged/`` (``save_pretrained`` + tokenizer,
``export.merged``), ``export/irgen.<type>.gguf`` (``export.gguf`` = q8_0 or f16, via the
``gguf`` package; llama.cpp, Ollama and LM Studio load it) and ``export/Modelfile``
(``ollama create irgen -f Modelfile``).
"""

from __future__ import annotations

import shutil

from almost import RunContext
from almost.io import atomic_write

from ..gguf_export import MODELFILE, write_gguf
from ..model import SYSTEM_PROMPT, base_folder, load_model, load_tokenizer


def run(ctx: RunContext) -> None:
    cfg = ctx.config.export
    adapter = ctx.find_stage_dir("train") / "adapter"
    out = ctx.stage_dir()
    shutil.copytree(adapter, out / "adapter", dirs_exist_ok=True)
    ctx.add_artifact(out / "adapter", "adapter")
    folder = base_folder(ctx.config.model.base, ctx.run_dir / "base-model")
    tok = load_tokenizer(folder)
    model = load_model(folder, ctx.config.model.dtype, adapter=adapter).merge_and_unload()
    if cfg.merged:
        tmp = out / ".merged.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        shutil.rmtree(out / "merged", ignore_errors=True)
        tmp.rename(out / "merged")
        ctx.add_artifact(out / "merged", "merged model")
    if cfg.gguf != "none":
        gguf = write_gguf(model, tok, out / f"irgen.{cfg.gguf}.gguf", cfg.gguf)
        atomic_write(out / "Modelfile", MODELFILE.format(gguf=gguf.name, system=SYSTEM_PROMPT))
        ctx.add_artifact(gguf, "GGUF")
        ctx.add_artifact(out / "Modelfile", "Ollama Modelfile")
        ctx.log_metrics(gguf_mb=gguf.stat().st_size / 2**20)
