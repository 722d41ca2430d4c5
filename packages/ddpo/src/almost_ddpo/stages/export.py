"""Stage ``export``: the trained LoRA for other tools.

Writes ``<stage>/lora/`` (peft ``adapter_config.json`` + ``adapter_model.safetensors``, and
diffusers' ``pytorch_lora_weights.safetensors`` for ``pipe.load_lora_weights``) and
``<stage>/kohya_lora.safetensors`` — the layout AUTOMATIC1111 and ComfyUI load — with the
real ``lora_alpha`` in every ``.alpha`` entry, plus the per-epoch kohya files the policy wrote
every ``export.export_every`` epochs (``kohya/ui_lora_epoch_NNN.safetensors``), to fall back
to when a late epoch exploits the reward. The next round's ``generate`` and ``policy`` start
from this folder.
"""

from __future__ import annotations

import shutil

from almost.errors import UserError
from almost.io import atomic_dir, read_json
from almost.observe.console import console
from almost.train.checkpoint import load_safetensors, save_safetensors


def run(ctx) -> None:
    from ..lora import to_kohya

    src = ctx.find_stage_dir("policy") / "lora"
    if not (src / "adapter_config.json").is_file():
        raise UserError(f"no trained LoRA in {src}; run the policy stage first")
    out = ctx.stage_dir()
    dst = out / "lora"
    with atomic_dir(dst) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
    cfg = read_json(dst / "adapter_config.json", "LoRA config")
    peft_sd = load_safetensors(dst / "adapter_model.safetensors")
    ctx.add_artifact(dst, "LoRA (diffusers/peft)")
    n = len(peft_sd)
    if ctx.config.export.kohya:
        kohya = to_kohya(peft_sd, float(cfg["lora_alpha"]))
        path = save_safetensors(kohya, out / "kohya_lora.safetensors",
                                metadata={"ss_network_dim": str(cfg["r"]), "ss_network_alpha": str(cfg["lora_alpha"]),
                                          "ss_network_module": "networks.lora"})
        ctx.add_artifact(path, "LoRA (kohya, WebUI/ComfyUI)")
        console.print(f"kohya LoRA: {len(kohya)} tensors, rank {cfg['r']}, alpha {cfg['lora_alpha']}")
    epochs = sorted((src.parent / "kohya").glob("ui_lora_epoch_*.safetensors"))
    if epochs:
        kdir = out / "kohya"
        kdir.mkdir(exist_ok=True)
        for f in epochs:
            shutil.copyfile(f, kdir / f.name)
        ctx.add_artifact(kdir, f"per-epoch kohya LoRAs ({len(epochs)})")
    ctx.log_metrics(lora_tensors=n, rank=cfg["r"], alpha=float(cfg["lora_alpha"]), epoch_files=len(epochs))

