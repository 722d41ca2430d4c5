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

Rules that keep a run trustworthy (see the README, "Runs"):

* everything is checked before anything moves: stage names, every config value (types and
  ranges) and every component name against the registry, the run's own files;
* one ``almost run`` per run directory: an exclusive lock (``.almost.lock``, held by the main
  process for the whole run); a second run exits at once naming the holder, and a lock left by
  a dead process is taken over with a note;
* ``--force STAGE`` sets the stage's whole folder aside (partial checkpoints too) and marks
  every later stage of the pipeline *stale*: their folders and metrics move aside as well and
  they run again; the summary shows only stages that are done (:func:`mark_stale` is that rule
  for a plugin verb that changes a stage's input, e.g. ``almost ddpo import``);
* a stage's metrics are kept in its folder too (``.almost-metrics.json``): a stage that starts
  fresh starts with none, one that resumes gets back what it logged before the interruption;
* a stage marked done whose folder was deleted runs again;
* SIGINT / SIGTERM stop the stage as "interrupted" with the step reached (exit 130 / 143).

A stage is a function ``run(ctx: RunContext) -> None``; it may be given as
``"package.module:function"`` so heavy imports happen only when the stage runs. A stage that
was interrupted is simply called again: it resumes from the checkpoints in its folder.

Pipelines with ``rounds=True`` (ddpo's generate → … → export loop) start a new round when
every stage of the current one is done: stage folders then live under ``round-NNN/`` and a
stage can find the previous round's output with :meth:`RunContext.previous_stage_dir`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import math
import os
import platform
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import config as cfgmod
from .console import console, summary_table
from .errors import (
    ConfigError,
    InterruptedRun,
    NonFiniteError,
    RunLocked,
    UnknownNameError,
    UserError,
    known_list,
)
from .io import atomic_write, atomic_write_json, disk_full_error, is_disk_full, read_json


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
    out: str | None = None  # the user's --out, kept in the hints this run prints
    track: Any = None  # the core [track] section (almost.tracking.TrackConfig): trackers to send to
    _accelerator: Any = None
    _steplog: Any = None
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
            raise UserError(f"stage {name!r} has not run in {self.run_dir}; run `{self.command(name)}` first")
        return d

    def command(self, *stages: str, force: bool = False) -> str:
        """The ``almost run`` command for ``stages`` of this run, keeping the user's --out and
        --profile: use it in hints (``f"run `{ctx.command('encode')}` first"``)."""
        parts = ["almost run --plugin", self.pipeline.name, *stages]
        if self.profile != self.pipeline.default_profile:
            parts.append(f"--profile {self.profile}")
        if self.out is not None:
            parts.append(f"--out {_quote(str(self.out))}")
        if force:
            parts.append("--force")
        return " ".join(parts)

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
            from .checkpoint import latest_in

            last = latest_in(self.round_dir() / stage) if self.stage_name else None
            kept = f"the last good checkpoint {last.name} is kept" if last else "no checkpoint was saved"
            raise NonFiniteError(
                f"{stage}: {what} became {v}{where}; {kept}; lower the "
                "learning rate or check the data, then re-run with --force " + stage,
                stage=stage, step=step, value=v,
            )
        return v

    # -- records ------------------------------------------------------------------------
    def log_metrics(self, stage: str | None = None, /, **values: float) -> None:
        """Merge ``values`` into ``metrics.json`` under ``stage`` (default: the running one).

        Numbers are stored as floats; NaN or infinity as ``null`` (the file stays strict JSON).
        The stage's folder keeps a copy, so a resumed stage gets its earlier metrics back."""
        if not is_main_process():
            return
        name = stage or self.stage_name
        clean: dict[str, Any] = {}
        for k, v in values.items():
            if hasattr(v, "item") and getattr(v, "ndim", 0) == 0:
                v = v.item()  # a 0-d tensor or numpy scalar
            if isinstance(v, int | float) and not isinstance(v, bool):
                v = float(v)
                if not math.isfinite(v):
                    console.print(f"[yellow]{name}: metric {k} is {v}; recorded as null[/]")
                    v = None
            clean[k] = v
        with records_lock(self.run_dir):
            paths = [self.run_dir / "metrics.json"]
            if self.pipeline.rounds:  # the run's file shows the latest round; each round keeps its own
                paths.append(self.round_dir() / "metrics.json")
            for path in paths:
                data = _read_metrics(path)
                data.setdefault(name, {}).update(clean)
                atomic_write_json(path, data)
            sdir = self.round_dir() / name
            if name and (sdir.is_dir() or name == self.stage_name):
                own = sdir / STAGE_METRICS
                data = _read_metrics(own, nested=False)
                data.update(clean)
                atomic_write_json(own, data)

    def add_artifact(self, path: str | Path, label: str | None = None) -> None:
        """Record a file this stage produced (listed in the manifest and the summary)."""
        if not is_main_process():
            return
        with _edit_manifest(self.run_dir) as manifest:
            rec = manifest.setdefault("stages", {}).setdefault(self.stage_name, {})
            arts = rec.setdefault("artifacts", {})
            p = Path(path)
            try:
                rel = str(p.relative_to(self.run_dir))
            except ValueError:
                rel = str(p)
            arts[label or p.name] = rel
        if p.suffix.lower() in (".png", ".gif") and p.is_file():  # pictures: in the history, to trackers
            self._stage_log().log_media(None, {label or p.stem: p})

    # -- step history and trackers (almost.history, almost.tracking) -----------------------
    def log_step(self, step: int, **values: Any) -> None:
        """Record ``values`` (``loss=..., lr=...``) at training ``step``: appended to the stage's
        ``history.jsonl`` (each step once, through kill -9 and resume) and sent to the trackers
        of ``track.with``. Call it where the stage already logs, with numbers already on the
        host (``loss.item()`` the progress bar shows): it adds no device sync of its own."""
        if is_main_process():
            self._stage_log().log(step, values)

    def log_media(self, step: int | None, **paths: str | Path) -> None:
        """Record pictures/GIFs this stage wrote (``rollout=path``) at ``step`` (``None``: the
        latest step logged): listed in the history, embedded by ``almost report``, sent to
        trackers that show media. A PNG/GIF given to :meth:`add_artifact` is recorded too."""
        if is_main_process():
            self._stage_log().log_media(step, paths)

    @property
    def history(self):
        """The running stage's :class:`almost.history.History`; ``ctx.history.resume(step)``
        drops what a killed run logged after the checkpoint being resumed."""
        return self._stage_log().history

    def _stage_log(self):
        from .history import StageLog

        if self._steplog is None or self._steplog.folder != self.round_dir() / self.stage_name:
            self.close_logs()
            self._steplog = StageLog.for_context(self)
        return self._steplog

    def flush_logs(self) -> None:
        """Write out the step history and the trackers' queued events (TensorBoard's) up to now.
        :class:`almost.checkpoint.Checkpoints` calls it before a checkpoint counts; a stage that
        writes its own checkpoints calls it just before committing one, so a kill after the
        checkpoint loses no step that the resumed stage will not log again."""
        if self._steplog is not None:
            self._steplog.flush()

    def close_logs(self) -> None:
        """Close the stage's history file and finish its tracker runs (at the stage's end)."""
        if self._steplog is not None:
            self._steplog.close()
            self._steplog = None

    @contextlib.contextmanager
    def stage_logs(self):
        try:
            yield
        finally:
            self.close_logs()

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


STAGE_METRICS = ".almost-metrics.json"  # a stage's own metrics, in its folder
STAGE_CONFIG = ".almost-config.json"  # the config a stage's work in its folder was made with


def _restore_done_metrics(run_dir: Path, rdir: Path, manifest: Mapping[str, Any]) -> None:
    """Metrics of a done stage missing from ``metrics.json`` (a kill between the record, which is
    the commit, and the metrics files) come back from its record. Call under the records lock."""
    for path in {run_dir / "metrics.json", rdir / "metrics.json"}:
        data = _read_metrics(path)
        changed = False
        for name, rec in manifest.get("stages", {}).items():
            kept = rec.get("metrics")
            if rec.get("status") == "done" and isinstance(kept, dict) and kept:
                merged = {**kept, **data.get(name, {})}
                if merged != data.get(name):
                    data[name] = merged
                    changed = True
        if changed:
            atomic_write_json(path, data)


_STOPPED = {"running": "killed", "interrupted": "interrupted", "failed": "stopped by an error"}


def _stage_identity(sdir: Path) -> dict | None:
    """``{"hash", "config"}`` recorded in a stage folder (``None``: none, or unreadable)."""
    try:
        data = json.loads((sdir / STAGE_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("hash"), str) else None


def _run_stage(ctx: RunContext, fn: Callable[[RunContext], Any]) -> None:
    """Call the stage; a NaN right after resuming from a checkpoint sets that checkpoint aside and
    runs the stage again from the one before it (once: a NaN from there too is the training's)."""
    from .checkpoint import resumed_from
    from .threads import for_stage

    fallback = None
    while True:
        try:
            with for_stage(), ctx.stage_logs():  # torch threads = the cores this process really gets (almost.threads)
                fn(ctx)
            return
        except NonFiniteError as e:
            came = resumed_from()
            if fallback is not None:  # the older checkpoint diverged too: put the newer one back, give up
                bad, aside = fallback
                with contextlib.suppress(OSError):
                    if is_main_process() and not bad.exists():
                        os.replace(aside, bad)
                        (bad / "almost-damaged.txt").unlink(missing_ok=True)
                raise NonFiniteError(f"{e} (the same after falling back from {bad.name} to an older checkpoint: "
                                     "the training diverges, not a checkpoint)", stage=e.stage, step=e.step) from None
            ckpts = came.get("checkpoints")
            if not came or ckpts is None or len(ckpts.all()) < 2:
                raise
            bad = Path(came["path"])
            aside = ckpts.set_aside(bad, f"NaN or infinity after resuming from it ({e})")
            console.print(f"[yellow]{ctx.stage_name}: NaN after resuming from {bad.name}; set it aside as "
                          f"{aside.name} and resuming from the checkpoint before it[/]")
            fallback = (bad, aside)
            ctx._accelerator = None  # a fresh Accelerator: the models are built again
            from .checkpoint import reset_last_saved

            reset_last_saved()


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


_record_locks: dict[str, Any] = {}
_record_locks_guard = threading.Lock()


def records_lock(run_dir: Path):
    """The lock every read-modify-write of ``manifest.json`` / ``metrics.json`` holds.

    A file lock (``.records.lock``), so writers in other threads and processes wait their
    turn; re-entrant within a thread."""
    from filelock import FileLock

    key = str(Path(run_dir).resolve())
    with _record_locks_guard:
        lock = _record_locks.get(key)
        if lock is None:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
            lock = _record_locks[key] = FileLock(os.path.join(key, ".records.lock"), timeout=120)
    return lock


STATUSES = ("running", "interrupted", "failed", "done", "stale")
_MANIFEST_FIX = "fix it, or remove it and the stages run again"
_RECORD_FIELDS = {"status": "str?", "seconds": "number?", "attempts": "count?", "started": "number?",
                  "finished": "number?", "artifacts": "dict?", "metrics": "dict?", "dir": "bool?",
                  "interrupted_at_step": "int|null?", "error": "str?", "config_hash": "str?",
                  "cpu_per_wall": "number?"}


def _read_manifest(run_dir: Path) -> dict:
    """The run's ``manifest.json``, checked entry by entry: anything malformed is one sentence
    naming the file, the entry and the fix (never a traceback, never a silently dropped stage)."""
    from .io import check_fields

    path = run_dir / "manifest.json"
    if not path.exists() and not path.is_symlink():
        return {}
    data = read_json(path, "run manifest", _MANIFEST_FIX)
    if not isinstance(data, dict):
        from .io import describe

        raise UserError(f"run manifest {path} is valid JSON but not an Almost manifest (it holds {describe(data)}, "
                        f"not an object); {_MANIFEST_FIX}")
    check_fields(data, path, "run manifest", {"stages": "dict?", "round": "posint?", "history": "list?",
                                              "pipeline": "str?", "profile": "str?"}, _MANIFEST_FIX)
    _check_records(data.get("stages", {}), path, "")
    for i, past in enumerate(data.get("history", [])):
        check_fields(past, path, "run manifest", {"round": "posint", "stages": "dict"}, _MANIFEST_FIX,
                     entry=f"history entry {i + 1}")
        _check_records(past["stages"], path, f"round {past['round']} ")
    return data


def _check_records(stages: Mapping[str, Any], path: Path, where: str) -> None:
    from .io import check_fields, describe

    for name, rec in stages.items():
        entry = f"{where}stage {name!r}"
        if not isinstance(rec, dict):
            raise UserError(f"run manifest {path} is valid JSON but not an Almost manifest ({entry} holds "
                            f"{describe(rec)}, not a record); {_MANIFEST_FIX}")
        check_fields(rec, path, "run manifest", _RECORD_FIELDS, _MANIFEST_FIX, entry=entry)
        if "status" in rec and rec["status"] not in STATUSES:
            raise UserError(f"run manifest {path}, {entry}, has status {describe(rec['status'])}, not one of "
                            f"{', '.join(STATUSES)}; {_MANIFEST_FIX}")
        bad = [k for k, v in (rec.get("artifacts") or {}).items() if not isinstance(v, str)]
        if bad:
            raise UserError(f"run manifest {path}, {entry}, has artifact {bad[0]!r} that is not a path; {_MANIFEST_FIX}")


@contextlib.contextmanager
def _edit_manifest(run_dir: Path):
    """``with _edit_manifest(run_dir) as manifest:`` — the run's manifest read under the records
    lock, to edit in place; written back atomically when the block ends normally (an exception
    leaves the file as it was). The lock is held throughout, so no other writer interleaves."""
    with records_lock(run_dir):
        manifest = _read_manifest(run_dir)
        yield manifest
        atomic_write_json(run_dir / "manifest.json", manifest)


def _read_metrics(path: Path, nested: bool = True) -> dict:
    """``{stage: {metric: value}}`` (``nested=False``: ``{metric: value}``); a wrong shape is
    one sentence naming the file and the entry. Values are numbers, null, text or true/false."""
    if not path.exists() and not path.is_symlink():
        return {}
    fix = "fix it or remove it"
    data = read_json(path, "metrics file", fix)
    shape = "{stage: {metric: number}}" if nested else "{metric: number}"
    if not isinstance(data, dict) or (nested and not all(isinstance(v, dict) for v in data.values())):
        raise UserError(f"metrics file {path} is valid JSON but not {shape}; {fix}")
    for stage, values in (data.items() if nested else [("", data)]):
        for k, v in values.items():
            if isinstance(v, dict | list):
                where = f"{stage}.{k}" if stage else k
                raise UserError(f"metrics file {path} has {where} = a{'n object' if isinstance(v, dict) else ' list'}, "
                                f"not a number; {fix}")
    return data


def _read_config_toml(path: Path) -> dict:
    """The run's ``config.toml``; damage is one sentence naming the file."""
    try:
        data = cfgmod.load_toml(path)
    except UserError as e:
        raise UserError(f"{e} (the run directory's record of its config; restore it, or choose another --out)") from None
    data.pop("almost", None)
    return data


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


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread by the SIGTERM handler: an interruption like Ctrl-C (stages that
    catch KeyboardInterrupt to stop cleanly do so for SIGTERM too), but exit status 143."""


@contextlib.contextmanager
def _signal_handlers():
    """SIGINT raises KeyboardInterrupt, SIGTERM raises _Terminated. Once the run has decided to
    stop (``state["stopping"]``), later signals are ignored while it writes its records
    (kill -9 still works)."""
    state = {"stopping": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state["stopping"]:
            return
        if signum == signal.SIGTERM:
            raise _Terminated()
        raise KeyboardInterrupt()

    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in old:
        signal.signal(sig, handler)
    try:
        yield state
    finally:
        for sig, h in old.items():
            signal.signal(sig, h if h is not None else signal.SIG_DFL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class RunDirLock:
    """An exclusive lock on a run directory, held by one ``almost run`` at a time.

    ``filelock`` holds an OS lock on ``.almost.lock`` (released by the kernel when the process
    dies); ``.almost.lock.json`` says who holds it, for the message another run prints."""

    def __init__(self, run_dir: Path) -> None:
        from filelock import FileLock

        self.run_dir = run_dir
        self.info_path = run_dir / ".almost.lock.json"
        self.lock = FileLock(str(run_dir / ".almost.lock"), timeout=0, thread_local=False)

    def _holder(self) -> dict:
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            h = self._holder()
            who = (f"process {h.get('pid', '?')} on {h.get('host', '?')}, `{h.get('command', 'almost run')}`, "
                   f"since {h.get('started_at', '?')}") if h else "another process"
            if h and h.get("host") == socket.gethostname() and not _pid_alive(int(h.get("pid", 0) or 0)):
                who += "; that process is gone but processes it started still hold the lock: stop them"
            raise RunLocked(
                f"{self.run_dir} is in use by another run ({who}); wait for it to finish, stop it, "
                "or choose another --out"
            ) from None
        old = self._holder()
        if old:  # the lock was free yet a holder is recorded: that process died without releasing it
            state = "no longer running" if not _pid_alive(int(old.get("pid", 0) or 0)) or old.get(
                "host") != socket.gethostname() else "gone"
            console.print(
                f"[yellow]note: taking over the lock of {self.run_dir} from process {old.get('pid', '?')} "
                f"(started {old.get('started_at', '?')}, {state}); its unfinished stage resumes[/]"
            )
        atomic_write_json(self.info_path, {
            "pid": os.getpid(), "host": socket.gethostname(),
            "command": " ".join(["almost", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith("almost")
            else " ".join(sys.argv) or "almost run",
            "started_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        })

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.info_path.unlink()
        self.lock.release()

    def __enter__(self) -> RunDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


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
    from .tracking import resolve_track

    track = resolve_track(config_file, sets)  # the core [track] section (almost.tracking)
    run_dir = Path(out) if out else default_run_dir(pipeline.name, profile)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} is a file; choose another --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the run directory {run_dir} ({e.strerror or e}); choose another --out") from None
    lock = RunDirLock(run_dir) if is_main_process() else contextlib.nullcontext()
    with lock, _signal_handlers() as signals:
        return _run_locked(pipeline, registry, cfg, run_dir, list(stages), profile, force,
                           None if out is None else str(out), track=track, signals=signals)


def _aside_path(sdir: Path, tag: str, stamp: str | None = None) -> Path:
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    aside = sdir.with_name(f"{sdir.name}.{tag}-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = sdir.with_name(f"{sdir.name}.{tag}-{stamp}-{n}")
    return aside


def _set_aside(run_dir: Path, round_dir: Path, name: str, manifest: dict, tag: str, reason: str,
               stamp: str | None = None) -> Path | None:
    """Move stage ``name``'s folder aside (with its old record and metrics inside) and forget
    its record and metrics. Returns the new folder (``None``: there was no folder)."""
    sdir = round_dir / name
    rec = manifest["stages"].pop(name, None)
    old_metrics = {}
    for path in {run_dir / "metrics.json", round_dir / "metrics.json"}:
        data = _read_metrics(path)
        if name in data:
            old_metrics = data.pop(name)
            atomic_write_json(path, data)
    aside = None
    if sdir.exists():
        aside = _aside_path(sdir, tag, stamp)
        os.replace(sdir, aside)
        atomic_write_json(aside / "almost-set-aside.json", {"reason": reason, "record": rec, "metrics": old_metrics})
    return aside


def mark_stale(run_dir: str | Path, stages: Sequence[str], because: str, *, rounds: bool = False) -> dict[str, Path | None]:
    """Mark ``stages`` of a run *stale*: what they learned from has changed, so they must run again.

    The same rule ``--force`` applies to the stages after a forced one, for a plugin verb that
    changes a stage's input outside ``almost run`` (``almost ddpo import`` adding ratings). Each
    of ``stages`` that has run (a manifest record not already stale, or a folder) is handled so:

    * its folder moves aside to ``NAME.stale-YYYYmmdd-HHMMSS`` (``-2``... if taken), with an
      ``almost-set-aside.json`` inside holding ``because``, its old record and its metrics:
      nothing is deleted;
    * its figures leave ``metrics.json`` (the run's, and the round's), so no summary shows them;
    * its manifest record becomes ``{"status": "stale", "stale_because": because, "marked": TIME}``:
      the next ``almost run`` runs it again, and its summary names it among the stale stages.

    ``rounds``: the pipeline was registered with ``rounds=True``; the stages of the run's current
    round (``round-NNN/``) are marked. The manifest is edited under the records lock and written
    atomically. A run directory without a manifest is left alone. Returns, for each stage marked
    (in the order given), where its folder went (``None``: it had no folder)."""
    run_dir = Path(run_dir)
    if not (run_dir / "manifest.json").is_file():
        return {}
    stamp = time.strftime("%Y%m%d-%H%M%S")  # one time for every stage marked together
    with _edit_manifest(run_dir) as manifest:
        recs = manifest.setdefault("stages", {})
        round_dir = run_dir / f"round-{int(manifest.get('round', 1)):03d}" if rounds else run_dir
        return {name: _set_stale(run_dir, round_dir, manifest, name, because, stamp)
                for name in stages if _has_run(recs, round_dir, name)}


def _has_run(recs: Mapping[str, Any], round_dir: Path, name: str) -> bool:
    """Whether stage ``name`` has something to mark stale: a record not stale yet, or a folder."""
    rec = recs.get(name)
    return (rec is not None and rec.get("status") != "stale") or (round_dir / name).exists()


def _set_stale(run_dir: Path, round_dir: Path, manifest: dict, name: str, because: str,
               stamp: str | None = None) -> Path | None:
    """:func:`mark_stale` for one stage, on a manifest the caller holds under the records lock."""
    aside = _set_aside(run_dir, round_dir, name, manifest, "stale", because, stamp)
    manifest["stages"][name] = {"status": "stale", "stale_because": because, "marked": time.time()}
    return aside


def _run_locked(pipeline: Pipeline, registry: Any, cfg: Any, run_dir: Path, stages: list[str], profile: str,
                force: bool, out: str | None, track: Any = None, signals: dict | None = None) -> dict:
    main = is_main_process()

    # -- read and check the run's records: nothing has moved yet -------------------------
    new_cfg = cfgmod.to_dict(cfg)
    cfg_path = run_dir / "config.toml"
    manifest = _read_manifest(run_dir)
    _read_metrics(run_dir / "metrics.json")
    if manifest.get("pipeline") not in (None, pipeline.name):
        raise UserError(
            f"{run_dir} holds a run of pipeline {manifest['pipeline']!r}, not {pipeline.name!r}; choose another --out"
        )
    if cfg_path.exists() and manifest.get("stages"):
        old_cfg = _read_config_toml(cfg_path)
        a, b = cfgmod.flat_items(old_cfg), cfgmod.flat_items(new_cfg)
        changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        if changed and not force:
            raise ConfigError(
                f"{run_dir} was run with a different config ({known_list(changed, 6)} changed); "
                "pass --force with the stages to redo (later stages then re-run too), or --out for a new run"
            )
    names = [s.name for s in pipeline.stages]
    selected = stages or names
    cfg_hash, cfg_flat = cfgmod.identity(new_cfg)
    if not force:  # a stage resumes only the work of the config it runs with now
        rdir0 = run_dir / f"round-{int(manifest.get('round', 1)):03d}" if pipeline.rounds else run_dir
        for name in selected:
            rec = manifest.get("stages", {}).get(name, {})
            if rec.get("status") in ("running", "interrupted", "failed") and (rdir0 / name).is_dir():
                old = _stage_identity(rdir0 / name)
                if old is not None and old.get("hash") != cfg_hash:
                    raise ConfigError(
                        f"stage {name} was {_STOPPED[rec['status']]} under another config "
                        f"({cfgmod.describe_diff(old.get('config') or {}, cfg_flat)}), so it cannot resume that work; "
                        f"re-run with --force {name} to start it over with this config, or with the old values to resume")
    _barrier()  # every process has read the same manifest before the main one changes it

    manifest.update({"pipeline": pipeline.name, "profile": profile, "versions": _versions()})
    manifest.setdefault("round", 1)
    manifest.setdefault("stages", {})
    done = {n for n, r in manifest["stages"].items() if r.get("status") == "done"}
    if pipeline.rounds and not stages and set(names) <= done and not force:
        # every stage of this round is done: start the next round
        manifest.setdefault("history", []).append({"round": manifest["round"], "stages": manifest["stages"]})
        manifest["round"] += 1
        manifest["stages"] = {}
        console.print(f"[bold]Starting round {manifest['round']}[/] of {pipeline.name} in {run_dir}")
        if main:
            atomic_write_json(run_dir / "metrics.json", {})  # the run's file shows the latest round

    ctx = RunContext(pipeline=pipeline, config=cfg, run_dir=run_dir, profile=profile,
                     registry=registry, round=manifest["round"], force=force, out=out, track=track)
    rdir = ctx.round_dir()
    recs = manifest["stages"]

    # -- what starts fresh: --force, or done with its folder gone -------------------------
    fresh: list[str] = []
    for name in selected:
        rec = recs.get(name, {})
        if force:
            fresh.append(name)
        elif rec.get("status") == "done" and rec.get("dir", False) and not (rdir / name).is_dir():
            console.print(f"[yellow]stage {name}: marked done but its folder {rdir / name} is gone; running it again[/]")
            fresh.append(name)
    if main:
        with records_lock(run_dir):
            if fresh:
                first = min(names.index(n) for n in fresh)
                for name in names[first:]:
                    if name in fresh:
                        aside = _set_aside(run_dir, rdir, name, manifest, "replaced", "--force" if force else "folder gone")
                        if aside is not None:
                            console.print(f"[yellow]stage {name}: --force, previous output (checkpoints too) kept in {aside}[/]")
                    elif _has_run(recs, rdir, name):
                        aside = _set_stale(run_dir, rdir, manifest, name, f"{names[first]} was redone")
                        where = f"; its old output is kept in {aside}" if aside else ""
                        runs_now = " (it runs again now)" if name in selected else \
                            f"; it runs again with `{ctx.command(name)}` or a full run"
                        console.print(f"[yellow]stage {name}: stale, it used {names[first]}'s old output{where}{runs_now}[/]")
            atomic_write(cfg_path, cfgmod.to_toml(cfg, {"pipeline": pipeline.name, "profile": profile}))
            atomic_write_json(run_dir / "manifest.json", manifest)
            _restore_done_metrics(run_dir, rdir, manifest)
    _barrier()

    for name in selected:
        stage = pipeline.stage(name)
        rec = _read_manifest(run_dir).get("stages", {}).get(name, {})
        if rec.get("status") == "done":
            console.print(f"[dim]stage {name}: already done, skipped (use --force {name} to redo it)[/]")
            continue
        fn = stage.resolve()
        ctx.stage_name = name
        sdir = rdir / name
        resuming = rec.get("status") in ("running", "interrupted", "failed") and sdir.is_dir()
        before = float(rec.get("seconds", 0) or 0) if resuming else 0.0
        if main:
            with records_lock(run_dir):
                # this stage's metrics: what it logged before the interruption, never another run's
                own = _read_metrics(sdir / STAGE_METRICS, nested=False) if resuming else {}
                for path in {run_dir / "metrics.json", rdir / "metrics.json"}:
                    data = _read_metrics(path)
                    if own:
                        data[name] = own
                    else:
                        data.pop(name, None)
                    if path.exists() or own:
                        atomic_write_json(path, data)
                if not resuming:
                    with contextlib.suppress(FileNotFoundError):
                        (sdir / STAGE_METRICS).unlink()
                if not resuming or _stage_identity(sdir) is None:
                    atomic_write_json(sdir / STAGE_CONFIG, {"hash": cfg_hash, "config": cfg_flat})
                _mark(run_dir, name, status="running", started=time.time(), replace=not resuming,
                      attempts=int(rec.get("attempts", 0) or 0) + 1 if resuming else 1,
                      config_hash=cfg_hash)
        if resuming:
            console.print(f"stage {name}: resuming ({rec.get('status')} before)")
        console.rule(f"[bold]{pipeline.name} · {name}")
        from .checkpoint import reset_last_saved
        from .console import reset_last_step

        reset_last_step()
        reset_last_saved()
        t0 = time.time()
        from .checkpoint import clear_identity, set_identity
        from .threads import TreeCpu

        cpu = TreeCpu()  # this process and every process the stage starts

        set_identity(name, cfg_hash, cfg_flat, flush=ctx.flush_logs)
        try:
            try:
                _run_stage(ctx, fn)
            finally:
                cpu_seconds = cpu.seconds()
                cpu.close()
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (_Terminated)
            if signals is not None:
                signals["stopping"] = True  # a second Ctrl-C must not tear the records
            code = 143 if isinstance(e, _Terminated) else 130
            step = _interrupted_step()
            _mark(run_dir, name, status="interrupted", seconds=round(before + time.time() - t0, 2),
                  interrupted_at_step=step, signal="SIGTERM" if code == 143 else "SIGINT")
            at = f"at step {step} of {name}" if step is not None else f"during {name}"
            # after --force the same command would set this partial work aside again
            again = "the same command without --force" if force else "the same command"
            raise InterruptedRun(f"interrupted {at}; re-run {again} to resume", exit_code=code) from None
        except BaseException as e:
            _mark(run_dir, name, status="failed", seconds=round(before + time.time() - t0, 2), error=str(e)[:500])
            if not isinstance(e, UserError) and is_disk_full(e):
                raise disk_full_error(getattr(e, "filename", None) or sdir) from None
            raise
        finally:
            clear_identity()
        used = getattr(registry, "distributions_used", None)  # every plugin distribution that took part
        if main:  # the commit: one manifest write makes the stage done, with the metrics it has now
            with records_lock(run_dir):
                done_metrics = _read_metrics(rdir / "metrics.json").get(name, {})
                _mark(run_dir, name, status="done", seconds=round(before + time.time() - t0, 2),
                      finished=time.time(), dir=sdir.is_dir(), metrics=done_metrics,
                      cpu_per_wall=round(cpu_seconds / max(time.time() - t0, 1e-9), 2),
                      **({"plugins": used([pipeline.plugin])} if used else {}))
        _barrier()

    metrics = _read_metrics(run_dir / "metrics.json")
    final = _read_manifest(run_dir).get("stages", {})
    shown = {n: metrics[n] for n in names if n in metrics and final.get(n, {}).get("status") == "done"}
    if not main:
        return shown
    if shown:
        console.print(summary_table(shown, final, title=f"{pipeline.name} · {run_dir}"))
        console.print(f"[dim]every figure: {run_dir / 'metrics.json'} · curves and pictures: almost report {run_dir}[/]")
    stale = [n for n in names if final.get(n, {}).get("status") == "stale"]
    if stale:
        console.print(f"[yellow]stale (re-run them): {', '.join(stale)}: `{ctx.command(*stale)}`[/]")
    arts = {n: r.get("artifacts", {}) for n, r in final.items() if r.get("artifacts")}
    for stage_name, items in arts.items():
        for label, rel in items.items():
            console.print(f"  [cyan]{stage_name}[/] {label}: {run_dir / rel}")
    console.print(f"run directory: {run_dir}")
    return shown


def _interrupted_step() -> int | None:
    from .checkpoint import last_saved_step
    from .console import last_step

    step = last_step()
    return step if step is not None else last_saved_step()


def _mark(run_dir: Path, stage: str, replace: bool = False, **fields: Any) -> None:
    """Update (``replace``: start afresh) the manifest record of ``stage``, under the records lock."""
    if not is_main_process():
        return
    with _edit_manifest(run_dir) as manifest:
        stages = manifest.setdefault("stages", {})
        rec = {} if replace else stages.setdefault(stage, {})
        stages[stage] = rec
        rec.update(fields)
        if fields.get("status") != "failed":
            rec.pop("error", None)
        if fields.get("status") == "done":
            for k in ("interrupted_at_step", "signal", "stale_because"):
                rec.pop(k, None)
