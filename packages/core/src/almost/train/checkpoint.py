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

import contextlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import NonFiniteError, UserError
from ..io import (
    atomic_path,
    atomic_write_json,
    disk_full_error,
    fsync_tree,
    is_disk_full,
    replace_dir,
)


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


def adapter_only_checkpoints(accelerator: Any, model: Any, file: str = "lora.safetensors") -> None:
    """Make ``accelerator.save_state`` / ``load_state`` keep only ``model``'s adapter weights.

    ``model`` is a peft-wrapped module (a LoRA on a UNet or a causal LM) that the accelerator
    prepared. Its frozen base weights are the user's checkpoint, loaded again on resume, so a
    training checkpoint holds the adapter alone (``file`` in the checkpoint folder, the
    ``get_peft_model_state_dict`` keys): megabytes instead of the whole model. Every other
    prepared object (optimizer, scheduler, RNG states) is saved as accelerate saves it."""

    def _ours(m: Any) -> bool:
        return accelerator.unwrap_model(m) is bare

    bare = accelerator.unwrap_model(model)

    def save_hook(models, weights, output_dir):
        from peft.utils import get_peft_model_state_dict

        for i, m in enumerate(models):
            if _ours(m):
                save_safetensors(get_peft_model_state_dict(bare), Path(output_dir) / file)
                weights.pop(i)
                return

    def load_hook(models, input_dir):
        from peft.utils import set_peft_model_state_dict

        for i, m in enumerate(models):
            if _ours(m):
                set_peft_model_state_dict(bare, load_safetensors(Path(input_dir) / file,
                                                                 device=str(accelerator.device)))
                models.pop(i)
                return

    accelerator.register_save_state_pre_hook(save_hook)
    accelerator.register_load_state_pre_hook(load_hook)


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM back for the block (delivered right after it), where the platform allows."""
    import signal

    sigs = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Checkpoints:
    """Numbered training-state checkpoints under one directory.

    ``save(step, extra)`` writes ``directory/step-{step:08d}/`` through
    ``accelerator.save_state`` plus ``almost_state.json`` holding ``extra`` (your counters,
    epoch, best loss...) and the size of every file; all files and folders are fsynced before
    the rename, and weights that are no longer finite are never saved. ``load()`` restores the
    newest intact checkpoint into the objects ``accelerator.prepare`` returned and gives back
    ``extra``; a damaged newer one (a torn file, a size that disagrees) is skipped with a
    message saying which and why.
    """

    def __init__(self, directory: str | Path, accelerator, keep: int | None = None) -> None:
        if keep is not None and (isinstance(keep, bool) or int(keep) < 1):
            raise UserError(f"keep_checkpoints must be >= 1 (or unset to keep all), not {keep!r}")
        self.directory = Path(directory)
        self.accelerator = accelerator
        self.keep = keep
        self.skipped: list[tuple[Path, str]] = []

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

    def _check_finite(self, step: int) -> None:
        """Refuse to save a model whose parameters are NaN or infinite (the last good one stays)."""
        import torch

        params = [(n, p) for m in getattr(self.accelerator, "_models", []) for n, p in m.named_parameters()
                  if p.is_floating_point()]
        if not params:
            return
        with torch.no_grad():
            ok = torch.stack([p.detach().isfinite().all().to(params[0][1].device) for _, p in params])
        if bool(ok.all()):  # one device sync per checkpoint
            return
        name = params[int((~ok).nonzero()[0])][0]
        stage = self.directory.parent.name
        last = self.latest()
        kept = f"the last good checkpoint {last.name} is kept" if last else "no checkpoint was saved"
        raise NonFiniteError(
            f"{stage}: weight {name} became NaN or infinite by step {step}; {kept}; lower the "
            "learning rate or check the data", stage=stage, step=step)

    def save(self, step: int, extra: Mapping[str, Any] | None = None) -> Path:
        acc = self.accelerator
        final = self.directory / f"step-{step:08d}"
        tmp = self.directory / f".step-{step:08d}.tmp"
        self._check_finite(step)
        try:
            if acc.is_main_process:
                self.directory.mkdir(parents=True, exist_ok=True)
                if tmp.exists():
                    shutil.rmtree(tmp)
            acc.wait_for_everyone()
            acc.save_state(str(tmp), safe_serialization=True)
            acc.wait_for_everyone()
            if acc.is_main_process:
                atomic_write_json(tmp / "almost_state.json", {"step": step, **dict(extra or {}), **record_of(tmp)})
                flush_stage_logs()  # the steps this checkpoint covers are in the history and trackers first
                fsync_tree(tmp)  # every file and folder on disk before the rename makes it visible
                with _signals_deferred():  # Ctrl-C / SIGTERM wait until the renames are done
                    # synced above, outside the deferral; re-saving a step keeps the old one aside until done
                    replace_dir(tmp, final, synced=True)
                if self.keep:
                    for old in self.all()[: -self.keep]:
                        shutil.rmtree(old, ignore_errors=True)
        except Exception as e:  # ENOSPC arrives as OSError, SafetensorError or RuntimeError
            if is_disk_full(e):
                if acc.is_main_process:
                    shutil.rmtree(tmp, ignore_errors=True)
                raise disk_full_error(getattr(e, "filename", None) or tmp) from None
            raise
        acc.wait_for_everyone()
        _saved.update(step=step, path=str(final))
        return final

    @staticmethod
    def verify(path: Path, state_file: str = "almost_state.json") -> str | None:
        """Why checkpoint ``path`` cannot be used (``None``: every recorded file is whole).

        ``state_file`` (in ``path``) holds ``almost_files``: the size and SHA-256 of each file
        as written (older checkpoints: the size alone)."""
        try:
            with open(Path(path) / state_file, encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError) as e:
            return f"{state_file} is unreadable ({e})"
        if not isinstance(state, dict):
            return f"{state_file} is not a JSON object"
        files = state.get("almost_files") or {}
        if not isinstance(files, dict):
            return f"{state_file} has no list of files"
        for rel, rec in files.items():
            size, digest = (rec.get("bytes"), rec.get("sha256")) if isinstance(rec, dict) else (rec, None)
            p = path / rel
            if not p.is_file():
                return f"{rel} is missing"
            if p.stat().st_size != size:
                return f"{rel} has {p.stat().st_size} bytes, not the {size} written"
            if digest is not None and file_sha256(p) != digest:
                return f"{rel} does not match the checksum written with it"
        return None

    def set_aside(self, path: Path, why: str) -> Path:
        """Move a damaged checkpoint out of the way (``damaged-step-N``, with the reason inside):
        never resumed again, never deleted."""
        aside = path.with_name(f"damaged-{path.name}")
        n = 1
        while aside.exists():
            n += 1
            aside = path.with_name(f"damaged-{path.name}-{n}")
        if self.accelerator.is_main_process:
            with contextlib.suppress(OSError):
                os.replace(path, aside)
                (aside / "almost-damaged.txt").write_text(why + "\n", encoding="utf-8")
        return aside

    def load(self, path: str | Path | None = None) -> dict[str, Any] | None:
        """Restore ``path`` (default: the newest intact one); ``None`` if there is nothing to resume.

        Without ``path``, a checkpoint that fails its checksums or fails to load is set aside
        (one line says which and why) and the next older one is tried; if none loads, a
        one-sentence UserError. A checkpoint made under another config is refused (ConfigError)."""
        from ..observe.console import console

        if path is not None:
            path = Path(path)
            if not (path / "almost_state.json").is_file():
                raise UserError(f"checkpoint {path} is incomplete or not a checkpoint (no almost_state.json)")
            why = self.verify(path)
            if why:
                raise UserError(f"checkpoint {path} is damaged: {why}")
            self._check_config(path)
            return self._loaded(path, self._load(path))
        candidates = self.all()
        if not candidates:
            return None
        self.skipped = []
        for cand in reversed(candidates):
            why = self.verify(cand)
            if why is None:
                self._check_config(cand)
                try:
                    state = self._load(cand)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as e:  # a torn tensor file, a truncated pickle, ...
                    why = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
                else:
                    return self._loaded(cand, state)
            self.skipped.append((cand, why))
            aside = self.set_aside(cand, why)
            console.print(f"[yellow]checkpoint {cand.name} is damaged ({why}); set aside as {aside.name}[/]")
        names = "; ".join(f"{p.name}: {w}" for p, w in self.skipped)
        stage = self.directory.parent.name
        raise UserError(f"no intact checkpoint in {self.directory} ({names}); they were set aside as damaged-*, "
                        f"so the same command now starts {stage} from step 0 (or re-run with --force {stage})")

    def _loaded(self, path: Path, state: dict[str, Any]) -> dict[str, Any]:
        _resumed.update(path=path, checkpoints=self, step=state.get("step"))
        return state

    def _check_config(self, path: Path) -> None:
        check_config(path, stage=self.directory.parent.name)

    def _load(self, path: Path) -> dict[str, Any]:
        self._check_config(path)
        self.accelerator.load_state(str(path))
        with open(path / "almost_state.json", encoding="utf-8") as f:
            state = json.load(f)
        for k in ("almost_files", "almost_config_hash", "almost_config"):
            state.pop(k, None)
        return state


def file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# the newest checkpoint saved in this process (the interruption message names it)
_saved: dict[str, Any] = {}
# the checkpoint the running stage resumed from ({"path", "checkpoints", "step"}): a NaN after
# resuming falls back to the one before it (almost.runs)
_resumed: dict[str, Any] = {}
# the config of the running stage ({"hash", "config" (flat), "stage"}), set by the pipeline:
# every checkpoint records its hash and only checkpoints of the same hash are resumed
_identity: dict[str, Any] = {}


def record_of(folder: Path) -> dict[str, Any]:
    """What a checkpoint's state file records beside the caller's values: the size and SHA-256 of
    every file in ``folder`` (``almost_files``) and the running stage's config hash."""
    files = {str(p.relative_to(folder)): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
             for p in sorted(Path(folder).rglob("*")) if p.is_file()}
    ident = {"almost_config_hash": _identity["hash"], "almost_config": _identity["config"]} if _identity else {}
    return {"almost_files": files, **ident}


def check_config(path: Path, state_file: str = "almost_state.json", stage: str = "") -> None:
    """Refuse (one sentence, ConfigError) checkpoint ``path`` if it was made under another config
    than the running stage's (checkpoints from before config hashes pass)."""
    if not _identity:
        return
    try:
        with open(Path(path) / state_file, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return  # verify() reports it
    h = state.get("almost_config_hash") if isinstance(state, dict) else None
    if h is not None and h != _identity["hash"]:
        old = state.get("almost_config")
        raise refuse_other_config(f"checkpoint {path}", _identity.get("stage") or stage,
                                  old if isinstance(old, dict) else {})


_flush: list[Any] = []  # the running stage's ctx.flush_logs


def set_identity(stage: str, config_hash: str, flat: Mapping[str, Any], flush: Any = None) -> None:
    _identity.clear()
    _identity.update(stage=stage, hash=config_hash, config=dict(flat))
    _flush[:] = [flush] if flush is not None else []


def clear_identity() -> None:
    _identity.clear()
    _flush.clear()


def flush_stage_logs() -> None:
    """The running stage's history and tracker events written out: call it before a checkpoint
    becomes visible (:meth:`Checkpoints.save` does), so the steps it covers survive a kill."""
    for fn in _flush:
        fn()


def refuse_other_config(what: str, stage: str, old_flat: Mapping[str, Any]) -> UserError:
    """The one-sentence refusal to resume ``what`` (made under ``old_flat``) with the current config."""
    from ..config import describe_diff
    from ..errors import ConfigError

    return ConfigError(
        f"{what} was made with another config ({describe_diff(old_flat, _identity.get('config', {}))}), so "
        f"{stage} cannot resume it; re-run with --force {stage} to start {stage} over with this config, "
        "or with the old values to resume")


def last_saved_step() -> int | None:
    return _saved.get("step")


def reset_last_saved() -> None:
    _saved.clear()
    _resumed.clear()


def resumed_from() -> dict[str, Any]:
    """``{"path", "checkpoints", "step"}`` of the checkpoint this stage resumed from (empty: none)."""
    return dict(_resumed)


def latest_in(folder: Path) -> Path | None:
    """The newest complete checkpoint anywhere under a stage folder (for honest messages)."""
    found = []
    for p in Path(folder).glob("**/step-*/almost_state.json"):
        m = _STEP_RE.match(p.parent.name)
        if m and not any(part.startswith(".") for part in p.relative_to(folder).parts):
            found.append((int(m.group(1)), p.parent))
    return max(found)[1] if found else None
