"""The driver: ``almost run`` as a loop over stages, on one screen.

``run_pipeline`` resolves the config, opens the run directory (``runs/P/<profile>/`` by
default) under its lock and signal handlers, then :func:`_run_locked` does, in order:

1. read and check the run's records: nothing has moved yet (:func:`_check_records`);
2. roll over to a new round when every stage of the current one is done (:func:`_open_round`);
3. plan what starts fresh (``--force``, or done with its folder gone) and set it and the stages
   after it aside (:func:`_plan`, :func:`_write_plan`);
4. run each selected stage that is not done (:func:`_run_one`): records, the call, the
   exception-to-status mapping (:func:`_call`), the commit;
5. print the summary (:func:`_summary`).

Everything is checked before anything moves: stage names, every config value (types and
ranges) and every component name against the registry, the run's own files. A stage marked
done whose folder was deleted runs again.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from .. import config as cfgmod
from ..errors import ConfigError, InterruptedRun, NonFiniteError, UserError, known_list
from ..io import atomic_write_json, disk_full_error, is_disk_full
from ..observe.console import console, summary_table
from .context import RunContext
from .guards import RunDirLock, _barrier, _signal_handlers, _Terminated, is_main_process
from .rundir import STAGE_CONFIG, RunDir, has_run, read_config_toml, read_metrics, stage_identity
from .stage import Pipeline

_STOPPED = {"running": "killed", "interrupted": "interrupted", "failed": "stopped by an error"}
_LIBRARIES = ("torch", "diffusers", "transformers", "peft", "accelerate")


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

    Everything is validated before anything in the run directory moves. Under ``accelerate
    launch`` every process runs this function and every stage (stages split their own work
    with their Accelerator); only the main process takes the run-directory lock and writes
    the run's records (config, manifest, metrics).
    """
    profile = profile or pipeline.default_profile
    for s in stages:
        pipeline.stage(s)  # unknown stage names fail before anything runs
    cfg = pipeline.resolve_config(profile, config_file, sets, registry=registry)
    from ..observe.tracking import resolve_track

    track = resolve_track(config_file, sets)  # the core [track] section (almost.observe.tracking)
    run_dir = Path(out) if out else default_run_dir(pipeline.name, profile)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} is a file; choose another --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the run directory {run_dir} ({e.strerror or e}); choose another --out") from None
    job = _Job(pipeline, registry, cfg, RunDir(run_dir, [s.name for s in pipeline.stages], pipeline.rounds),
               list(stages), profile, force, None if out is None else str(out), track)
    lock = RunDirLock(run_dir) if is_main_process() else contextlib.nullcontext()
    with lock, _signal_handlers() as signals:
        job.signals = signals
        return _run_locked(job)


@attrs.define
class _Job:
    """One ``almost run``: what was asked, and the config it runs with."""

    pipeline: Pipeline
    registry: Any
    cfg: Any
    rundir: RunDir
    stages: list[str]  # as asked (empty: all)
    profile: str
    force: bool
    out: str | None
    track: Any = None
    signals: dict | None = None
    cfg_hash: str = ""
    cfg_flat: dict = attrs.Factory(dict)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.pipeline.stages]

    @property
    def selected(self) -> list[str]:
        return self.stages or self.names


def _run_locked(job: _Job) -> dict:
    manifest = _check_run(job)
    _barrier()  # every process has read the same manifest before the main one changes it
    _open_round(job, manifest)
    ctx = RunContext(pipeline=job.pipeline, config=job.cfg, run_dir=job.rundir.path, profile=job.profile,
                     registry=job.registry, round=manifest["round"], force=job.force, out=job.out, track=job.track)
    fresh = _plan(job, ctx, manifest)
    if is_main_process():
        _write_plan(job, ctx, manifest, fresh)
    _barrier()
    for name in job.selected:
        _run_one(job, ctx, name)
    return _summary(job, ctx)


def _check_run(job: _Job) -> dict:
    """The run's records, read and checked against this run: nothing has moved yet."""
    run_dir, new_cfg = job.rundir.path, cfgmod.to_dict(job.cfg)
    manifest = job.rundir.manifest()
    read_metrics(run_dir / "metrics.json")
    if manifest.get("pipeline") not in (None, job.pipeline.name):
        raise UserError(f"{run_dir} holds a run of pipeline {manifest['pipeline']!r}, not "
                        f"{job.pipeline.name!r}; choose another --out")
    if (run_dir / "config.toml").exists() and manifest.get("stages"):
        changed = _changed_keys(job, read_config_toml(run_dir / "config.toml"), new_cfg)
        if changed and not job.force:
            raise ConfigError(
                f"{run_dir} was run with a different config ({known_list(changed, 6)} changed); "
                "pass --force with the stages to redo (later stages then re-run too), or --out for a new run"
            )
    job.cfg_hash, job.cfg_flat = cfgmod.identity(new_cfg)
    if not job.force:
        _check_resumable(job, manifest)
    return manifest


def _changed_keys(job: _Job, stored: dict, new_cfg: dict) -> list[str]:
    """Keys whose value differs between the run's ``config.toml`` and this run's config. A key
    the file does not hold (added to the pipeline after the run was made) counts only when this
    run sets it off its profile's default; a retired key the file still holds does not count."""
    a = cfgmod.flat_items(cfgmod.drop_retired(job.cfg, stored))
    b = cfgmod.flat_items(new_cfg)
    default = cfgmod.flat_items(cfgmod.to_dict(job.pipeline.profiles[job.profile]()))
    return sorted(k for k in a.keys() | b.keys()
                  if a.get(k) != b.get(k) and not (k not in a and k in default and b.get(k) == default[k]))


def _check_resumable(job: _Job, manifest: dict) -> None:
    """A stage resumes only the work of the config it runs with now."""
    rdir = job.rundir.round_dir(manifest.get("round", 1))
    for name in job.selected:
        rec = manifest.get("stages", {}).get(name, {})
        if rec.get("status") in _STOPPED and (rdir / name).is_dir():
            old = stage_identity(rdir / name)
            if old is not None and old.get("hash") != job.cfg_hash:
                raise ConfigError(
                    f"stage {name} was {_STOPPED[rec['status']]} under another config "
                    f"({cfgmod.describe_diff(old.get('config') or {}, job.cfg_flat)}), so it cannot resume that work; "
                    f"re-run with --force {name} to start it over with this config, or with the old values to resume")


def _open_round(job: _Job, manifest: dict) -> None:
    """Stamp the manifest; with rounds, start the next round when this one is all done."""
    manifest.update({"pipeline": job.pipeline.name, "profile": job.profile, "versions": _versions()})
    manifest.setdefault("round", 1)
    manifest.setdefault("stages", {})
    done = {n for n, r in manifest["stages"].items() if r.get("status") == "done"}
    if job.pipeline.rounds and not job.stages and set(job.names) <= done and not job.force:
        manifest.setdefault("history", []).append({"round": manifest["round"], "stages": manifest["stages"]})
        manifest["round"] += 1
        manifest["stages"] = {}
        console.print(f"[bold]Starting round {manifest['round']}[/] of {job.pipeline.name} in {job.rundir.path}")


def _plan(job: _Job, ctx: RunContext, manifest: dict) -> list[str]:
    """The stages that start fresh: every selected one under --force, or done with its folder gone."""
    rdir, recs, fresh = ctx.round_dir(), manifest["stages"], []
    for name in job.selected:
        rec = recs.get(name, {})
        if job.force:
            fresh.append(name)
        elif rec.get("status") == "done" and rec.get("dir", False) and not (rdir / name).is_dir():
            console.print(f"[yellow]stage {name}: marked done but its folder {rdir / name} is gone; running it again[/]")
            fresh.append(name)
    return fresh


def _write_plan(job: _Job, ctx: RunContext, manifest: dict, fresh: list[str]) -> None:
    """Set the fresh stages aside and the ones after them stale; write config, manifest, metrics."""
    rundir, rdir, names = job.rundir, ctx.round_dir(), job.names
    with rundir.lock():
        first = min((names.index(n) for n in fresh), default=len(names))
        for name in names[first:]:
            if name in fresh:
                aside = rundir.set_aside(rdir, name, manifest, "replaced", "--force" if job.force else "folder gone")
                if aside is not None:
                    console.print(f"[yellow]stage {name}: --force, previous output (checkpoints too) kept in {aside}[/]")
            elif has_run(manifest["stages"], rdir, name):
                aside = rundir.set_stale(rdir, manifest, name, f"{names[first]} was redone")
                where = f"; its old output is kept in {aside}" if aside else ""
                runs_now = " (it runs again now)" if name in job.selected else \
                    f"; it runs again with `{ctx.command(name)}` or a full run"
                console.print(f"[yellow]stage {name}: stale, it used {names[first]}'s old output{where}{runs_now}[/]")
        rundir.write_config(job.cfg, {"pipeline": job.pipeline.name, "profile": job.profile})
        rundir.write_manifest(manifest)
        rundir.write_views(rdir, manifest)


def _run_one(job: _Job, ctx: RunContext, name: str) -> None:
    """Run stage ``name`` unless it is done: its records, the call, the commit."""
    rec = job.rundir.manifest().get("stages", {}).get(name, {})
    if rec.get("status") == "done":
        console.print(f"[dim]stage {name}: already done, skipped (use --force {name} to redo it)[/]")
        return
    fn = job.pipeline.stage(name).resolve()
    ctx.stage_name = name
    resuming = rec.get("status") in _STOPPED and (ctx.round_dir() / name).is_dir()
    before = float(rec.get("seconds", 0) or 0) if resuming else 0.0
    if is_main_process():
        _start(job, ctx.round_dir(), name, rec, resuming)
    if resuming:
        console.print(f"stage {name}: resuming ({rec.get('status')} before)")
    console.rule(f"[bold]{job.pipeline.name} · {name}")
    from ..observe.console import reset_last_step
    from ..train.checkpoint import reset_last_saved

    reset_last_step()
    reset_last_saved()
    t0 = time.time()
    cpu_seconds = _call(job, ctx, fn, before)
    if is_main_process():  # the commit: one manifest write makes the stage done, with its metrics
        used = getattr(job.registry, "distributions_used", None)  # every plugin distribution that took part
        seconds = time.time() - t0
        job.rundir.mark(name, status="done", seconds=round(before + seconds, 2), finished=time.time(),
                        dir=(ctx.round_dir() / name).is_dir(), metrics=job.rundir.stage_metrics(ctx.round_dir(), name),
                        cpu_per_wall=round(cpu_seconds / max(seconds, 1e-9), 2),
                        **({"plugins": used([job.pipeline.plugin])} if used else {}))
    _barrier()


def _start(job: _Job, rdir: Path, name: str, rec: dict, resuming: bool) -> None:
    """Stage ``name``'s records as it starts: its metrics (what it logged before an interruption,
    never another run's), the config its folder's work is made with, its ``running`` record."""
    rundir, sdir = job.rundir, rdir / name
    with rundir.lock():
        if resuming:
            rundir.write_views(rdir)
        else:
            rundir.clear_metrics(rdir, name)
        if not resuming or stage_identity(sdir) is None:
            atomic_write_json(sdir / STAGE_CONFIG, {"hash": job.cfg_hash, "config": job.cfg_flat})
        rundir.mark(name, status="running", started=time.time(), replace=not resuming,
                    attempts=int(rec.get("attempts", 0) or 0) + 1 if resuming else 1, config_hash=job.cfg_hash)


def _call(job: _Job, ctx: RunContext, fn: Callable[[RunContext], Any], before: float) -> float:
    """Call the stage; map what stops it to its record (interrupted, failed). Returns the CPU
    seconds it used, its worker processes' included."""
    from ..train.checkpoint import clear_identity, set_identity
    from ..train.threads import TreeCpu

    name, t0 = ctx.stage_name, time.time()
    cpu = TreeCpu()  # this process and every process the stage starts
    set_identity(name, job.cfg_hash, job.cfg_flat, flush=ctx.flush_logs)
    try:
        try:
            _run_stage(ctx, fn)
        finally:
            cpu_seconds = cpu.seconds()
            cpu.close()
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (_Terminated)
        _interrupted(job, name, round(before + time.time() - t0, 2), e)
    except BaseException as e:
        _mark(job, name, status="failed", seconds=round(before + time.time() - t0, 2), error=str(e)[:500])
        if not isinstance(e, UserError) and is_disk_full(e):
            raise disk_full_error(getattr(e, "filename", None) or ctx.round_dir() / name) from None
        raise
    finally:
        clear_identity()
    return cpu_seconds


def _interrupted(job: _Job, name: str, seconds: float, e: KeyboardInterrupt) -> None:
    if job.signals is not None:
        job.signals["stopping"] = True  # a second Ctrl-C must not tear the records
    code = 143 if isinstance(e, _Terminated) else 130
    step = _interrupted_step()
    _mark(job, name, status="interrupted", seconds=seconds, interrupted_at_step=step,
          signal="SIGTERM" if code == 143 else "SIGINT")
    at = f"at step {step} of {name}" if step is not None else f"during {name}"
    # after --force the same command would set this partial work aside again
    again = "the same command without --force" if job.force else "the same command"
    raise InterruptedRun(f"interrupted {at}; re-run {again} to resume", exit_code=code) from None


def _mark(job: _Job, name: str, **fields: Any) -> None:
    if is_main_process():
        job.rundir.mark(name, **fields)


def _run_stage(ctx: RunContext, fn: Callable[[RunContext], Any]) -> None:
    """Call the stage; a NaN right after resuming from a checkpoint sets that checkpoint aside and
    runs the stage again from the one before it (once: a NaN from there too is the training's)."""
    from ..train.checkpoint import reset_last_saved, resumed_from
    from ..train.threads import for_stage

    fallback = None
    while True:
        try:
            with for_stage(), ctx.stage_logs():  # torch threads = the cores this process really gets
                fn(ctx)
            return
        except NonFiniteError as e:
            came = resumed_from()
            if fallback is not None:  # the older checkpoint diverged too: put the newer one back, give up
                _put_back(*fallback)
                raise NonFiniteError(f"{e} (the same after falling back from {fallback[0].name} to an older "
                                     "checkpoint: the training diverges, not a checkpoint)", stage=e.stage, step=e.step) from None
            ckpts = came.get("checkpoints")
            if not came or ckpts is None or len(ckpts.all()) < 2:
                raise
            bad = Path(came["path"])
            aside = ckpts.set_aside(bad, f"NaN or infinity after resuming from it ({e})")
            console.print(f"[yellow]{ctx.stage_name}: NaN after resuming from {bad.name}; set it aside as "
                          f"{aside.name} and resuming from the checkpoint before it[/]")
            fallback = (bad, aside)
            ctx._accelerator = None  # a fresh Accelerator: the models are built again
            reset_last_saved()


def _put_back(bad: Path, aside: Path) -> None:
    with contextlib.suppress(OSError):
        if is_main_process() and not bad.exists():
            os.replace(aside, bad)
            (bad / "almost-damaged.txt").unlink(missing_ok=True)


def _interrupted_step() -> int | None:
    from ..observe.console import last_step
    from ..train.checkpoint import last_saved_step

    step = last_step()
    return step if step is not None else last_saved_step()


def _summary(job: _Job, ctx: RunContext) -> dict:
    """The metrics of the stages that are done; printed as the end-of-run table by the main process."""
    run_dir, names = job.rundir.path, job.names
    metrics = read_metrics(run_dir / "metrics.json")
    final = job.rundir.manifest().get("stages", {})
    shown = {n: metrics[n] for n in names if n in metrics and final.get(n, {}).get("status") == "done"}
    if not is_main_process():
        return shown
    if shown:
        console.print(summary_table(shown, final, title=f"{job.pipeline.name} · {run_dir}",
                                    words=job.pipeline.headline))
        console.print(f"[dim]every figure: {run_dir / 'metrics.json'} · curves and pictures: almost report {run_dir}[/]")
    stale = [n for n in names if final.get(n, {}).get("status") == "stale"]
    if stale:
        console.print(f"[yellow]stale (re-run them): {', '.join(stale)}: `{ctx.command(*stale)}`[/]")
    for stage_name, rec in final.items():
        for label, rel in (rec.get("artifacts") or {}).items():
            console.print(f"  [cyan]{stage_name}[/] {label}: {run_dir / rel}")
    console.print(f"run directory: {run_dir}")
    return shown


def _versions() -> dict[str, str]:
    """Python's version, almost-core's, every installed plugin distribution's (the ``almost``
    entry-point group) and the libraries training depends on."""
    from ..plugins import GROUP

    plugins = sorted({ep.dist.name for ep in importlib.metadata.entry_points(group=GROUP) if ep.dist is not None})
    out = {"python": platform.python_version()}
    for dist in dict.fromkeys(["almost-core", *plugins, *_LIBRARIES]):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out
