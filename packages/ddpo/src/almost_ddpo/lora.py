"""The UNet LoRA: attach (peft), save and load in diffusers/peft format, export to kohya.

* :func:`add_lora` puts a fresh peft ``LoraConfig`` adapter on the UNet (only it trains).
* :func:`save_lora` writes ``adapter_config.json`` + ``adapter_model.safetensors`` (peft) and
  ``pytorch_lora_weights.safetensors`` (diffusers, for ``pipe.load_lora_weights``): one key
  style throughout, ``unet.<module>.lora_A.weight`` / ``lora_B.weight`` (peft names under the
  ``unet.`` prefix), for attention and conv targets alike, with the adapter config (rank,
  alpha) in the file's metadata so diffusers rebuilds the same scale.
* :func:`to_kohya` uses diffusers' ``convert_state_dict_to_kohya`` and then writes the real
  alpha (diffusers writes ``alpha = rank``, wrong whenever ``lora_alpha != r``).
"""

from __future__ import annotations

import json
from pathlib import Path

from almost.errors import UserError


def add_lora(unet, rank: int, alpha: float, targets: list[str], init: str | bool = "gaussian",
             seed: int | None = None):
    """Freeze the UNet and attach a LoRA adapter named ``default``; returns its ``LoraConfig``.

    peft draws the initial ``lora_A`` from torch's global RNG: with ``seed`` the draw is seeded
    (same seed, same tensors, bitwise) and the global RNG is restored afterwards.
    """
    import torch
    from peft import LoraConfig

    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return add_lora(unet, rank, alpha, targets, init)
    unet.requires_grad_(False)
    config = LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights=init, target_modules=list(targets))
    try:
        unet.add_adapter(config)
    except ValueError as e:
        raise UserError(f"policy.lora_targets {targets} do not match this UNet's modules ({e})") from None
    return config


def lora_state_dict(unet) -> dict:
    from peft.utils import get_peft_model_state_dict

    return {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(unet).items()}


def save_lora(unet, config, folder: str | Path, metadata: dict | None = None) -> Path:
    """Write the adapter in peft and diffusers layouts under ``folder``."""
    from diffusers import StableDiffusionPipeline

    from almost.io import atomic_write_json
    from almost.train.checkpoint import save_safetensors

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sd = lora_state_dict(unet)
    save_safetensors(sd, folder / "adapter_model.safetensors", metadata={"format": "pt"})
    cfg = config.to_dict()
    cfg["target_modules"] = sorted(cfg["target_modules"]) if cfg.get("target_modules") else []
    atomic_write_json(folder / "adapter_config.json", json.loads(json.dumps(cfg, default=str)))
    # peft names as they are (no convert_state_dict_to_diffusers: it renames attention keys to
    # the old ``lora.down`` style but leaves conv keys alone, and diffusers then loads neither fully)
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=sd, safe_serialization=True,
        unet_lora_adapter_metadata=json.loads(json.dumps(cfg, default=str)),
    )
    if metadata:
        atomic_write_json(folder / "lora_info.json", metadata)
    return folder


def load_lora_into(unet, folder: str | Path, trainable: bool = False):
    """Attach the peft adapter saved in ``folder`` to ``unet``; returns its ``LoraConfig``."""
    from peft import LoraConfig
    from peft.utils import set_peft_model_state_dict

    from almost.io import read_json
    from almost.train.checkpoint import load_safetensors

    folder = Path(folder)
    cfg = read_json(folder / "adapter_config.json", "LoRA config")
    config = LoraConfig(r=cfg["r"], lora_alpha=cfg["lora_alpha"], target_modules=cfg["target_modules"],
                        init_lora_weights=False)
    unet.requires_grad_(False)
    unet.add_adapter(config)
    result = set_peft_model_state_dict(unet, load_safetensors(folder / "adapter_model.safetensors"))
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise UserError(f"LoRA in {folder} does not fit this UNet ({len(unexpected)} unexpected keys)")
    if trainable:
        for n, p in unet.named_parameters():
            if "lora_" in n:
                p.requires_grad_(True)
    return config


def to_kohya(peft_state: dict, alpha: float) -> dict:
    """kohya/WebUI keys (``lora_unet_..._to_q.lora_down.weight``, ``.alpha``) with the real alpha."""
    import torch
    from diffusers.utils import convert_state_dict_to_kohya

    sd = {f"unet.{k}" if not k.startswith("unet.") else k: v for k, v in peft_state.items()}
    out = convert_state_dict_to_kohya(sd)
    for k in list(out):
        if k.endswith(".alpha"):
            out[k] = torch.tensor(float(alpha))
    return out
