"""``almost irgen try --run DIR``: the interactive mode outside a pipeline run."""

from __future__ import annotations

from pathlib import Path

from almost.config import load_toml
from almost.errors import UserError


def main(run_dir: str) -> None:
    from .csharp import find_compiler
    from .interactive import loop
    from .model import base_folder, load_model, load_tokenizer

    run = Path(run_dir)
    adapter = run / "train" / "adapter"
    if not adapter.is_dir():
        raise UserError(f"{run} has no trained adapter (train/adapter); run `almost run --plugin irgen` first")
    cfg = load_toml(run / "config.toml")
    base = cfg.get("model", {}).get("base", "smollm2")
    folder = base_folder(base, run / "base-model")
    tok = load_tokenizer(folder)
    tok.padding_side = "left"
    from peft import PeftModel

    four_bit = bool(cfg.get("train", {}).get("load_in_4bit", False))  # loaded as trained, on the accelerator
    model = PeftModel.from_pretrained(load_model(folder, cfg.get("model", {}).get("dtype", "float32"),
                                                 quantize_4bit=four_bit), adapter)
    loop(model, tok, find_compiler(cfg.get("evaluate", {}).get("compiler", "auto")), 512)
