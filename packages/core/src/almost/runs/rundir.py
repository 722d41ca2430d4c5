"""The run directory's records: one place that reads and writes them.

* ``config.toml`` — the resolved config (a re-run with a different config is refused unless
  ``--force`` is given, so results are never silently mixed);
* ``manifest.json`` — stages finished, failed or interrupted, their artifacts and times, the
  package versions; checked entry by entry when read;
* a stage's metrics live in its own folder (``<stage>/.almost-metrics.json``): that file is the
  only record of them. ``metrics.json`` (``{stage: {metric: number}}``, the run's, and with
  rounds each round's) is a view derived from the stage files, written again whenever one
  changes; a stage that starts fresh starts with none, one that resumes keeps what it logged;
* ``.records.lock`` — every read-modify-write of these files holds it;
* ``--force STAGE`` sets the stage's whole folder aside (partial checkpoints too) and marks
  every later stage *stale*: their folders (and so their metrics) move aside as well and they
  run again (:func:`mark_stale` is that rule for a plugin verb that changes a stage's input).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import config as cfgmod
from ..errors import UserError
from ..io import atomic_write, atomic_write_json, check_fields, describe, read_json

STAGE_METRICS = ".almost-metrics.json"  # a stage's own metrics, in its folder: the only source
STAGE_CONFIG = ".almost-config.json"  # the config a stage's work in its folder was made with
METRICS = "metrics.json"  # the view: {stage: metrics} of the run's (or round's) stages

STATUSES = ("running", "interrupted", "failed", "done", "stale")
_MANIFEST_FIX = "fix it, or remove it and the stages run again"
_RECORD_FIELDS = {"status": "str?", "seconds": "number?", "attempts": "count?", "started": "number?",
                  "finished": "number?", "artifacts": "dict?", "metrics": "dict?", "dir": "bool?",
                  "interrupted_at_step": "int|null?", "error": "str?", "config_hash": "str?",
                  "cpu_per_wall": "number?"}

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


def read_manifest(run_dir: Path) -> dict:
    """The run's ``manifest.json``, checked entry by entry: anything malformed is one sentence
    naming the file, the entry and the fix (never a traceback, never a silently dropped stage)."""
    path = Path(run_dir) / "manifest.json"
    if not path.exists() and not path.is_symlink():
        return {}
    data = read_json(path, "run manifest", _MANIFEST_FIX)
    if not isinstance(data, dict):
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
def edit_manifest(run_dir: Path):
    """``with edit_manifest(run_dir) as manifest:`` — the run's manifest read under the records
    lock, to edit in place; written back atomically when the block ends normally (an exception
    leaves the file as it was). The lock is held throughout, so no other writer interleaves."""
    with records_lock(run_dir):
        manifest = read_manifest(run_dir)
        yield manifest
        atomic_write_json(Path(run_dir) / "manifest.json", manifest)


def read_metrics(path: Path, nested: bool = True) -> dict:
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


def read_config_toml(path: Path) -> dict:
    """The run's ``config.toml`` without its ``[almost]`` header; damage is one sentence."""
    try:
        data = cfgmod.load_toml(path)
    except UserError as e:
        raise UserError(f"{e} (the run directory's record of its config; restore it, or choose another --out)") from None
    data.pop("almost", None)
    return data


def stage_identity(sdir: Path) -> dict | None:
    """``{"hash", "config"}`` recorded in a stage folder (``None``: none, or unreadable)."""
    try:
        data = json.loads((sdir / STAGE_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("hash"), str) else None


class RunDir:
    """A run directory's records: manifest, config, metrics, set-aside and stale stages.

    ``stages``: the pipeline's stage names, in order; ``rounds``: the pipeline has rounds (stage
    folders under ``round-NNN/``). Every method that changes a record holds the records lock."""

    def __init__(self, path: str | os.PathLike, stages: Sequence[str] = (), rounds: bool = False) -> None:
        self.path = Path(path)
        self.stages = list(stages)
        self.rounds = rounds

    def round_dir(self, round: int) -> Path:
        return self.path / f"round-{int(round):03d}" if self.rounds else self.path

    def lock(self):
        return records_lock(self.path)

    def manifest(self) -> dict:
        return read_manifest(self.path)

    def edit(self):
        """``with rundir.edit() as manifest:`` (see :func:`edit_manifest`)."""
        return edit_manifest(self.path)

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        atomic_write_json(self.path / "manifest.json", manifest)

    def write_config(self, cfg: Any, header: Mapping[str, Any]) -> None:
        atomic_write(self.path / "config.toml", cfgmod.to_toml(cfg, header))

    def mark(self, stage: str, replace: bool = False, **fields: Any) -> None:
        """Update (``replace``: start afresh) the manifest record of ``stage``."""
        with self.edit() as manifest:
            stages = manifest.setdefault("stages", {})
            rec = {} if replace else stages.setdefault(stage, {})
            stages[stage] = rec
            rec.update(fields)
            if fields.get("status") != "failed":
                rec.pop("error", None)
            if fields.get("status") == "done":
                for k in ("interrupted_at_step", "signal", "stale_because"):
                    rec.pop(k, None)

    # -- metrics: the stage's file is the source, metrics.json a view -------------------
    def stage_metrics(self, rdir: Path, name: str) -> dict:
        return read_metrics(rdir / name / STAGE_METRICS, nested=False)

    def log_metrics(self, rdir: Path, name: str, values: Mapping[str, Any]) -> None:
        """Merge ``values`` into stage ``name``'s metrics file, then write the views again."""
        with self.lock():
            own = rdir / name / STAGE_METRICS
            data = read_metrics(own, nested=False)
            data.update(values)
            atomic_write_json(own, data)
            self.write_views(rdir, also=(name,))

    def clear_metrics(self, rdir: Path, name: str) -> None:
        """Stage ``name`` starts fresh: no metrics (its file goes, so the views lose it)."""
        with self.lock():
            with contextlib.suppress(FileNotFoundError):
                (rdir / name / STAGE_METRICS).unlink()
            self.write_views(rdir)

    def view(self, rdir: Path, manifest: Mapping[str, Any] | None = None, shown: Mapping[str, Any] | None = None,
             also: Sequence[str] = ()) -> dict:
        """``{stage: metrics}`` of the round in ``rdir``, from each stage's own file. A done stage
        without one (a run from before those files) keeps its record's metrics, or else what the
        view ``shown`` (the file being replaced) held. Stages keep their place in ``shown``; ``also``:
        stages to show though the pipeline does not list them (a stage function run on its own)."""
        manifest = self.manifest() if manifest is None else manifest
        shown = read_metrics(rdir / METRICS) if shown is None else shown
        recs = manifest.get("stages", {}) if rdir == self.round_dir(manifest.get("round", 1)) else {}
        out: dict[str, Any] = {}
        for name in dict.fromkeys([*shown, *self.stages, *recs, *also]):
            rec = recs.get(name) or {}
            if (rdir / name / STAGE_METRICS).exists():
                out[name] = self.stage_metrics(rdir, name)
            elif rec.get("status") == "done" and isinstance(rec.get("metrics"), dict) and rec["metrics"]:
                out[name] = rec["metrics"]
            elif rec.get("status") == "done" and name in shown:
                out[name] = shown[name]
        return out

    def write_views(self, rdir: Path, manifest: Mapping[str, Any] | None = None, also: Sequence[str] = ()) -> None:
        """Write ``metrics.json`` (the run's; with rounds the round's too) from the stage files."""
        manifest = self.manifest() if manifest is None else manifest
        for path in dict.fromkeys([self.path / METRICS, rdir / METRICS]):
            data = self.view(rdir, manifest, read_metrics(path), also)
            if path.exists() or data:
                atomic_write_json(path, data)

    # -- set aside, stale ------------------------------------------------------------------
    def set_aside(self, rdir: Path, name: str, manifest: dict, tag: str, reason: str,
                  stamp: str | None = None) -> Path | None:
        """Move stage ``name``'s folder aside (with its old record and metrics inside) and forget
        its record. Returns the new folder (``None``: there was no folder). The caller holds
        ``manifest`` under the records lock and writes the views again afterwards."""
        sdir = rdir / name
        rec = manifest["stages"].pop(name, None)
        if not sdir.exists():
            return None
        old_metrics = self.stage_metrics(rdir, name) if (sdir / STAGE_METRICS).exists() else \
            read_metrics(rdir / METRICS).get(name, {})
        aside = _aside_path(sdir, tag, stamp)
        os.replace(sdir, aside)
        atomic_write_json(aside / "almost-set-aside.json", {"reason": reason, "record": rec, "metrics": old_metrics})
        return aside

    def set_stale(self, rdir: Path, manifest: dict, name: str, because: str, stamp: str | None = None) -> Path | None:
        """:func:`mark_stale` for one stage, on a manifest the caller holds under the records lock."""
        aside = self.set_aside(rdir, name, manifest, "stale", because, stamp)
        manifest["stages"][name] = {"status": "stale", "stale_because": because, "marked": time.time()}
        return aside


def has_run(recs: Mapping[str, Any], round_dir: Path, name: str) -> bool:
    """Whether stage ``name`` has something to set aside: a record not stale yet, or a folder."""
    rec = recs.get(name)
    return (rec is not None and rec.get("status") != "stale") or (round_dir / name).exists()


def _aside_path(sdir: Path, tag: str, stamp: str | None = None) -> Path:
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    aside = sdir.with_name(f"{sdir.name}.{tag}-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = sdir.with_name(f"{sdir.name}.{tag}-{stamp}-{n}")
    return aside


def mark_stale(run_dir: str | Path, stages: Sequence[str], because: str, *, rounds: bool = False) -> dict[str, Path | None]:
    """Mark ``stages`` of a run *stale*: what they learned from has changed, so they must run again.

    The same rule ``--force`` applies to the stages after a forced one, for a plugin verb that
    changes a stage's input outside ``almost run`` (a verb adding ratings). Each of ``stages``
    that has run (a manifest record not already stale, or a folder) is handled so:

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
    rundir = RunDir(run_dir, rounds=rounds)
    if not (rundir.path / "manifest.json").is_file():
        return {}
    stamp = time.strftime("%Y%m%d-%H%M%S")  # one time for every stage marked together
    with rundir.lock():
        with rundir.edit() as manifest:
            recs = manifest.setdefault("stages", {})
            rdir = rundir.round_dir(manifest.get("round", 1))
            moved = {name: rundir.set_stale(rdir, manifest, name, because, stamp)
                     for name in stages if has_run(recs, rdir, name)}
        if moved:
            rundir.write_views(rdir, manifest)
    return moved
