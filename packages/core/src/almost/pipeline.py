"""Pipelines of named stages, and the run directory they share.

A :class:`Pipeline` is an ordered list of :class:`Stage` objects plus a config class and its
profiles. ``almost run --plugin P`` resolves the config, opens the run directory
(``runs/P/<profile>/`` by default) and runs each stage that is not finished yet:

* ``config.toml`` — the resolved config (a re-run with a different config is refused unless
  ``--force`` is given, so results are never silently mixed);
* ``manifest.json`` — stages finished, failed or interrupted, their artifacts and times, the
  package versions;
* ``metrics.json`` — ``{stage: {metric: number}}``; the end-of-run table is printed from it;
* one folder per stage (``<run>/<stage>/``) for its data, checkpoints and pictures.

A stage is a function ``run(ctx: RunContext) -> None``; it may be given as
``"package.module:function"`` so heavy imports happen only when the stage runs. A stage that
was interrupted is simply called again: it resumes from the checkpoints in its folder.

Pipelines with ``rounds=True`` (ddpo's generate → … → export loop) start a new round when
every stage of the current one is done: stage folders then live under ``round-NNN/`` and a
stage can find the previous round's output with :meth:`RunContext.previous_stage_dir`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import config as cfgmod
from .console import console, metrics_table
from .errors import ConfigError, NonFiniteError, UnknownNameError, UserError, known_list
from .io import atomic_write, atomic_write_json, read_json


@attrs.define
class Stage:
    """One step of a pipeline. ``run`` is a callable or a ``"module:function"`` string."""

    name: str
    run: Callable[[RunContext], Any] | str
    help: str = ""

    def resolve(self) -> Callable[[RunContext], Any]:
        if callable(self.run):
            return self.run
        module, _, func = self.run.partition(":")
        return getattr(importlib.import_module(module), func)


@attrs.define
class Pipeline:
    """A runnable pipeline: ``almost run --plugin NAME``."""

    name: str
    stages: Sequence[Stage]
    profiles: Mapping[str, Callable[[], Any]]
    help: str = ""
    rounds: bool = False
    default_profile: str = "tiny"
    plugin: str | None = None

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise UnknownNameError(
            f"pipeline {self.name!r} has no stage {name!r}; stages: {', '.join(s.name for s in self.stages)}"
        )

    def resolve_config(self, profile: str | None = None, config_file=None, sets: Sequence[str] = (),
                       registry: Any = None) -> Any:
        """The config of ``profile`` + file + ``--set``; with ``registry``, component names are
        checked too (so a bad ``--set reward=...`` fails before anything runs)."""
        return cfgmod.resolve(self.profiles, profile or self.default_profile, config_file, sets, registry)


@attrs.define
class RunContext:
    """What a stage gets: the config, its folders, the registry and the run's records."""

    pipeline: Pipeline
    config: Any
    run_dir: Path
    profile: str
    registry: Any
    round: int = 1
    force: bool = False
    stage_name: str = ""
    _accelerator: Any = None
    _accelerator_key: Any = None

    # -- folders ------------------------------------------------------------------------
    def round_dir(self, round: int | None = None) -> Path:
        if not self.pipeline.rounds:
            return self.run_dir
        return self.run_dir / f"round-{(round or self.round):03d}"

    def stage_dir(self, name: str | None = None, round: int | None = None) -> Path:
        """The folder of stage ``name`` (default: the running stage), created on demand."""
        d = self.round_dir(round) / (name or self.stage_name)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def previous_stage_dir(self, name: str) -> Path | None:
        """The folder of stage ``name`` in the latest earlier round that finished it."""
        manifest = _read_manifest(self.run_dir)
        for r in sorted((h["round"] for h in manifest.get("history", [])), reverse=True):
            if r < self.round:
                d = self.round_dir(r) / name
                if d.is_dir():
                    return d
        return None

    def find_stage_dir(self, name: str) -> Path:
        """Folder of an earlier stage's output; a clear error if that stage has not run."""
        d = self.round_dir() / name
        if not d.is_dir():
            raise UserError(
                f"stage {name!r} has not run in {self.run_dir}; run `almost run --plugin "
                f"{self.pipeline.name} {name}` first"
            )
        return d

    # -- health -------------------------------------------------------------------------
    def check_finite(self, value: Any, step: int | None = None, what: str = "loss") -> float:
        """Stop the stage with one sentence if ``value`` (a number or tensor) is NaN or infinite.

        Call it where you log (every N steps), not every step: on a GPU it waits for the
        device. The last good checkpoint is left as it is. Returns ``value`` as a float (for a
        tensor of several values: their mean)."""
        if hasattr(value, "detach"):
            t = value.detach()
            bad = not bool(t.isfinite().all())
            v = float(t.float().mean()) if t.numel() else 0.0
            if bad and math.isfinite(v):
                v = float("nan")
        else:
            v = float(value)
            bad = not math.isfinite(v)
        if bad:
            where = f" at step {step}" if step is not None else ""
            stage = self.stage_name or "training"
            raise NonFiniteError(
                f"{stage}: {what} became {v}{where}; the last good checkpoint is kept; lower the "
                "learning rate or check the data, then re-run with --force " + stage,
                stage=stage, step=step, value=v,
            )
        return v

    # -- records ------------------------------------------------------------------------
    def log_metrics(self, stage: str | None = None, /, **values: float) -> None:
        """Merge ``values`` into ``metrics.json`` under ``stage`` (default: the running one)."""
        if not is_main_process():
            return
        clean = {k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
                 for k, v in values.items()}
        paths = [self.run_dir / "metrics.json"]
        if self.pipeline.rounds:  # the run's file shows the latest round; each round keeps its own
            paths.append(self.round_dir() / "metrics.json")
        for path in paths:
            data = read_json(path, "metrics file") if path.exists() else {}
            data.setdefault(stage or self.stage_name, {}).update(clean)
            atomic_write_json(path, data)

    def add_artifact(self, path: str | Path, label: str | None = None) -> None:
        """Record a file this stage produced (listed in the manifest and the summary)."""
        if not is_main_process():
            return
        manifest = _read_manifest(self.run_dir)
        rec = manifest.setdefault("stages", {}).setdefault(self.stage_name, {})
        arts = rec.setdefault("artifacts", {})
        p = Path(path)
        try:
            rel = str(p.relative_to(self.run_dir))
        except ValueError:
            rel = str(p)
        arts[label or p.name] = rel
        atomic_write_json(self.run_dir / "manifest.json", manifest)

    def accelerator(self, **kwargs):
        """The stage's ``accelerate.Accelerator`` (see :func:`almost.checkpoint.make_accelerator`).

        Within a stage, calls with the same arguments share one; a new stage (or new
        arguments) gets a fresh one with its own mixed precision and gradient accumulation
        (accelerate's state is a singleton, so it is reset; the process group is kept)."""
        key = (self.stage_name, tuple(sorted(kwargs.items())))
        if self._accelerator is None or self._accelerator_key != key:
            from accelerate.state import AcceleratorState

            from .checkpoint import make_accelerator

            AcceleratorState._reset_state(reset_partial_state=False)
            self._accelerator = make_accelerator(**kwargs)
            self._accelerator_key = key
        return self._accelerator

    def component(self, key: str, kind: str | None = None, **kwargs) -> Any:
        """Build a registered component: ``ctx.component("reward/jpeg")``."""
        return self.registry.create(key, kind, **kwargs)


def _read_manifest(run_dir: Path) -> dict:
    path = run_dir / "manifest.json"
    if not path.exists():
        return {}
    return read_json(path, "run manifest")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("almost-core", "almost-gamengen", "almost-ddpo", "almost-irgen", "torch", "diffusers",
                 "transformers", "peft", "accelerate"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def is_main_process() -> bool:
    """True unless this is a non-zero rank under ``accelerate launch`` / ``torchrun``."""
    return int(os.environ.get("RANK", "0")) == 0


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _barrier() -> None:
    """Wait for every process of an ``accelerate launch`` job (no-op when alone)."""
    if _world_size() > 1:
        import torch
        from accelerate import PartialState

        # cpu= must match what make_accelerator will ask for: the state is a singleton
        PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()


def default_run_dir(pipeline: str, profile: str) -> Path:
    return Path(os.environ.get("ALMOST_RUNS", "runs")) / pipeline / profile


def run_pipeline(
    pipeline: Pipeline,
    registry: Any,
    stages: Sequence[str] = (),
    profile: str | None = None,
    config_file: str | Path | None = None,
    sets: Sequence[str] = (),
    out: str | Path | None = None,
    force: bool = False,
) -> dict:
    """Run ``stages`` (default: all) of ``pipeline``; returns the run's metrics.

    Under ``accelerate launch`` every process runs this function and every stage (stages
    split their own work with their Accelerator); only the main process writes the run's
    records (config, manifest, metrics).
    """
    main = is_main_process()
    profile = profile or pipeline.default_profile
    for s in stages:
        pipeline.stage(s)  # unknown stage names fail before anything runs
    cfg = pipeline.resolve_config(profile, config_file, sets, registry=registry)
    run_dir = Path(out) if out else default_run_dir(pipeline.name, profile)
    run_dir.mkdir(parents=True, exist_ok=True)

    # -- config: the same as before, or --force -----------------------------------------
    new_cfg = cfgmod.to_dict(cfg)
    cfg_path = run_dir / "config.toml"
    manifest = _read_manifest(run_dir)
    if manifest.get("pipeline") not in (None, pipeline.name):
        raise UserError(
            f"{run_dir} holds a run of pipeline {manifest['pipeline']!r}, not {pipeline.name!r}; choose another --out"
        )
    if cfg_path.exists() and manifest.get("stages"):
        old_cfg = cfgmod.load_toml(cfg_path)
        old_cfg.pop("almost", None)
        a, b = cfgmod.flat_items(old_cfg), cfgmod.flat_items(new_cfg)
        changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        if changed and not force:
            raise ConfigError(
                f"{run_dir} was run with a different config ({known_list(changed, 6)} changed); "
                "pass --force to redo the stages you name with the new config, or --out for a new run"
            )
    _barrier()  # every process has read the same manifest before the main one changes it
    if main:
        atomic_write(cfg_path, cfgmod.to_toml(cfg, {"pipeline": pipeline.name, "profile": profile}))
    manifest.update({"pipeline": pipeline.name, "profile": profile, "versions": _versions()})
    manifest.setdefault("round", 1)
    manifest.setdefault("stages", {})

    names = [s.name for s in pipeline.stages]
    selected = list(stages) or names
    done = {n for n, r in manifest["stages"].items() if r.get("status") == "done"}
    if pipeline.rounds and not stages and set(names) <= done and not force:
        # every stage of this round is done: start the next round
        manifest.setdefault("history", []).append({"round": manifest["round"], "stages": manifest["stages"]})
        manifest["round"] += 1
        manifest["stages"] = {}
        done = set()
        console.print(f"[bold]Starting round {manifest['round']}[/] of {pipeline.name} in {run_dir}")
    if main:
        atomic_write_json(run_dir / "manifest.json", manifest)

    ctx = RunContext(pipeline=pipeline, config=cfg, run_dir=run_dir, profile=profile,
                     registry=registry, round=manifest["round"], force=force)
    for name in selected:
        stage = pipeline.stage(name)
        if name in done and not force:
            console.print(f"[dim]stage {name}: already done, skipped (use --force to redo)[/]")
            continue
        sdir = ctx.round_dir() / name
        if main and force and sdir.exists() and name in done:
            aside = sdir.with_name(f"{name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(sdir, aside)
            console.print(f"[yellow]stage {name}: --force, previous output kept in {aside}[/]")
        fn = stage.resolve()
        ctx.stage_name = name
        _mark(run_dir, name, status="running", started=time.time())
        console.rule(f"[bold]{pipeline.name} · {name}")
        t0 = time.time()
        try:
            fn(ctx)
        except KeyboardInterrupt:
            _mark(run_dir, name, status="interrupted", seconds=round(time.time() - t0, 2))
            raise
        except BaseException as e:
            _mark(run_dir, name, status="failed", seconds=round(time.time() - t0, 2), error=str(e)[:500])
            raise
        _mark(run_dir, name, status="done", seconds=round(time.time() - t0, 2), finished=time.time())
        _barrier()

    metrics_path = run_dir / "metrics.json"
    metrics = read_json(metrics_path, "metrics file") if metrics_path.exists() else {}
    if not main:
        return metrics
    if metrics:
        console.print(metrics_table(metrics, title=f"{pipeline.name} · {run_dir}"))
    arts = {n: r.get("artifacts", {}) for n, r in _read_manifest(run_dir).get("stages", {}).items() if r.get("artifacts")}
    for stage_name, items in arts.items():
        for label, rel in items.items():
            console.print(f"  [cyan]{stage_name}[/] {label}: {run_dir / rel}")
    console.print(f"run directory: {run_dir}")
    return metrics


def _mark(run_dir: Path, stage: str, **fields: Any) -> None:
    if not is_main_process():
        return
    manifest = _read_manifest(run_dir)
    rec = manifest.setdefault("stages", {}).setdefault(stage, {})
    rec.update(fields)
    if fields.get("status") != "failed":
        rec.pop("error", None)
    atomic_write_json(run_dir / "manifest.json", manifest)

