"""Checkpoints: atomic safetensors files and resumable training state.

* :func:`save_safetensors` writes tensors to a temp file, fsyncs and renames it, so a crash
  mid-write leaves the previous file intact.
* :func:`make_accelerator` builds the one ``accelerate.Accelerator`` a training stage uses;
  the same code then runs on a CPU, one GPU, or many under ``accelerate launch``.
* :class:`Checkpoints` saves ``accelerator.save_state`` folders (model, optimizer, scaler,
  RNG states, plus a JSON of your own) as ``step-00000100/`` under one directory; each is
  written to a temp folder and renamed, the latest complete one is found on resume, and
  none is deleted unless you ask for ``keep=N``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import UserError
from .io import atomic_path, atomic_write_json, fsync_dir


def save_safetensors(tensors: Mapping[str, Any], path: str | Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Save a dict of tensors to ``path`` atomically (temp + fsync + rename)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(path, suffix=".safetensors.tmp") as tmp:
        save_file(tensors, str(tmp), metadata=dict(metadata) if metadata else None)
    return Path(path)


def load_safetensors(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """Load a safetensors file; a missing or corrupt file is a one-sentence UserError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist")
    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"weights file {path} is not a readable safetensors file ({e}); delete it and re-run") from None


def make_accelerator(
    mixed_precision: str = "no",
    gradient_accumulation_steps: int = 1,
    cpu: bool | None = None,
    project_dir: str | Path | None = None,
    seed: int | None = None,
):
    """The ``Accelerator`` for a stage. fp16 on a machine without CUDA falls back to fp32."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if cpu is None:
        cpu = not torch.cuda.is_available()
    if cpu and mixed_precision == "fp16":
        mixed_precision = "no"
    acc = Accelerator(
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=gradient_accumulation_steps,
        cpu=cpu,
        project_dir=str(project_dir) if project_dir else None,
    )
    if seed is not None:
        set_seed(seed, device_specific=True)
    return acc


_STEP_RE = re.compile(r"^step-(\d+)$")


class Checkpoints:
    """Numbered training-state checkpoints under one directory.

    ``save(step, extra)`` writes ``directory/step-{step:08d}/`` through
    ``accelerator.save_state`` plus ``almost_state.json`` holding ``extra`` (your counters,
    epoch, best loss...). ``load()`` restores the latest complete one (or a chosen one) into
    the objects ``accelerator.prepare`` returned and gives back ``extra``.
    """

    def __init__(self, directory: str | Path, accelerator, keep: int | None = None) -> None:
        self.directory = Path(directory)
        self.accelerator = accelerator
        self.keep = keep

    def all(self) -> list[Path]:
        """Complete checkpoints, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for p in self.directory.iterdir():
            m = _STEP_RE.match(p.name)
            if m and (p / "almost_state.json").is_file():
                found.append((int(m.group(1)), p))
        return [p for _, p in sorted(found)]

    def latest(self) -> Path | None:
        found = self.all()
        return found[-1] if found else None

    def save(self, step: int, extra: Mapping[str, Any] | None = None) -> Path:
        acc = self.accelerator
        final = self.directory / f"step-{step:08d}"
        tmp = self.directory / f".step-{step:08d}.tmp"
        if acc.is_main_process:
            self.directory.mkdir(parents=True, exist_ok=True)
            if tmp.exists():
                shutil.rmtree(tmp)
        acc.wait_for_everyone()
        acc.save_state(str(tmp), safe_serialization=True)
        acc.wait_for_everyone()
        if acc.is_main_process:
            atomic_write_json(tmp / "almost_state.json", {"step": step, **dict(extra or {})})
            if final.exists():  # re-saving the same step: keep the old one aside until done
                old = self.directory / f".step-{step:08d}.old"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, final)
            fsync_dir(self.directory)
            if self.keep:
                for old in self.all()[: -self.keep]:
                    shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()
        return final

    def load(self, path: str | Path | None = None) -> dict[str, Any] | None:
        """Restore ``path`` (default: the latest); ``None`` if there is nothing to resume."""
        if path is None:
            path = self.latest()
            if path is None:
                return None
        path = Path(path)
        state_file = path / "almost_state.json"
        if not state_file.is_file():
            raise UserError(f"checkpoint {path} is incomplete or not a checkpoint (no almost_state.json)")
        self.accelerator.load_state(str(path))
        with open(state_file, encoding="utf-8") as f:
            return json.load(f)

