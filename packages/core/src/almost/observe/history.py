"""Step-level history of a training stage: ``<stage folder>/history.jsonl``.

One JSON object per line, appended as training goes (open, append-only, readable with
``pandas.read_json(path, lines=True)``)::

    {"step": 10, "time": 1764090000.1, "loss": 0.412, "lr": 0.0001}
    {"step": 10, "time": 1764090000.2, "media": {"rollout": "rollout/ep0.gif"}}

A stage writes it through :meth:`almost.RunContext.log_step` (and ``log_media``) at the points
where it already logs (its progress bar), so no extra device sync is added.

**Each step exactly once, through kill -9 and resume.** A killed process can leave a torn last
line, and steps logged after the last checkpoint are replayed when the stage resumes. So:

* opening the file drops a torn or unreadable line (the rest is kept byte for byte);
* the first time a value (``loss``) is logged in a process at step ``N``, earlier records of
  that value at steps ``>= N`` are dropped: they came from a run that died after its last
  checkpoint and are about to be logged again. This needs no cooperation from the stage, as
  long as each loop logs its own value names (``vae_loss`` and ``unet_loss``, not ``loss``
  twice); values logged together are dropped together;
* a stage that knows its resume step can say so, ``ctx.history.resume(step)``: everything
  logged after ``step`` is dropped at once.

Non-finite numbers are written as ``null`` (the file stays strict JSON).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..io import atomic_write

HISTORY_FILE = "history.jsonl"


def _number(v: Any) -> float | int | None | str:
    if hasattr(v, "item") and getattr(v, "ndim", 0) == 0:
        v = v.item()  # a 0-d tensor (waits for the device: log where you already sync)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return _SKIP  # a list, a dict...: not a step value (logging must never stop training)
    return f if math.isfinite(f) else None


_SKIP = object()


def parse_lines(text: str) -> tuple[list[dict], int]:
    """Records of a history file's text and the number of lines that were not records
    (a torn last line after kill -9)."""
    from ..io import split_jsonl

    lines, tail = split_jsonl(text.encode("utf-8", errors="surrogateescape"))
    records, bad = [], int(tail is not None)  # a torn tail: the process died mid-write
    for _, line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            records.append(rec)
        else:
            bad += 1
    return records, bad


def read_history(path: str | os.PathLike) -> list[dict]:
    """The records of ``path`` (a history file or a stage folder), torn lines skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY_FILE
    if not path.is_file():
        return []
    return parse_lines(path.read_text(encoding="utf-8", errors="replace"))[0]


def series(records: Iterable[Mapping[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """``{value name: [(step, value), ...]}`` sorted by step, numbers only (``None`` kept as
    NaN, so a curve shows the gap)."""
    out: dict[str, dict[int, float]] = {}
    for rec in records:
        step = rec["step"]
        for k, v in rec.items():
            if k in ("step", "time", "media"):
                continue
            if v is None:
                out.setdefault(k, {})[step] = float("nan")
            elif isinstance(v, int | float) and not isinstance(v, bool):
                out.setdefault(k, {})[step] = float(v)
    return {k: sorted(d.items()) for k, d in out.items()}


def media(records: Iterable[Mapping[str, Any]]) -> list[tuple[int, str, str]]:
    """``[(step, name, path), ...]`` of the media records, each (name, path) once."""
    seen, out = set(), []
    for rec in records:
        for name, p in (rec.get("media") or {}).items():
            if (name, p) not in seen:
                seen.add((name, p))
                out.append((rec["step"], name, p))
    return out


class History:
    """The history file of one stage folder, opened for appending by this process."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / HISTORY_FILE
        self._checked = False  # torn tail repaired (on first use)
        self._fresh: set[str] = set()  # value names already logged by this process
        self._fh = None
        self.dropped = 0  # records (or values in them) dropped as replays of a resumed stage
        self.first_step: int | None = None  # the first step this process logged
        self._last: int | None = None
        self._media_seen: set[tuple[str, str]] = set()

    @property
    def last_step(self) -> int:
        """The latest step logged (by this process, else in the file; 0 if none)."""
        if self._last is None:
            self._last = max((r["step"] for r in self.records()), default=0)
        return self._last

    # -- reading and rewriting -------------------------------------------------------------
    def records(self) -> list[dict]:
        """Every record in the file (this process's included)."""
        if self._fh is not None:
            self._fh.flush()
        return read_history(self.path)

    def _read(self) -> tuple[list[dict], int]:
        if not self.path.is_file():
            return [], 0
        return parse_lines(self.path.read_text(encoding="utf-8", errors="replace"))

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        records, bad = self._read()
        if bad:  # a torn last line: rewrite the file without it, then append after it
            data = self.path.read_bytes()
            if bad > 1 or data.endswith(b"\n"):  # more than a kill -9 leaves: keep the file as it was
                import shutil

                from .console import console

                aside = self.path.with_name(self.path.name + ".damaged")
                shutil.copyfile(self.path, aside)
                console.print(f"[yellow]history {self.path}: {bad} line(s) are not step records; the file is "
                              f"kept as {aside.name} and the {len(records)} good records go on[/]")
            self._rewrite(records)

    def _rewrite(self, records: list[dict]) -> None:
        self.close()
        atomic_write(self.path, "".join(_line(r) for r in records))

    def _drop(self, keep) -> None:
        if self._fh is not None:
            self._fh.flush()
        records, bad = self._read()
        kept: list[dict] = []
        n = 0
        for rec in records:
            new = keep(rec)
            if new is not rec:
                n += 1
            if new is not None:
                kept.append(new)
        if n or bad:
            self.dropped += n
            self._rewrite(kept)

    def resume(self, step: int) -> None:
        """The stage resumes from a checkpoint at ``step``: drop everything logged after it."""
        self._check()
        self._drop(lambda r: r if r["step"] <= step else None)
        self.first_step = step + 1 if self.first_step is None else self.first_step

    # -- writing ---------------------------------------------------------------------------
    def log(self, step: int, values: Mapping[str, Any], now: float | None = None) -> dict:
        """Append one record: ``values`` at ``step``."""
        step = int(step)
        rec_values = {str(k): n for k, v in values.items() if (n := _number(v)) is not _SKIP}
        self._check()
        new = [k for k in rec_values if k not in self._fresh]
        if new:
            replayed = set(new)

            def keep(r: dict) -> dict | None:
                if r["step"] < step or not replayed & r.keys():
                    return r
                rest = {k: v for k, v in r.items() if k not in replayed}
                return rest if set(rest) - {"step", "time"} else None

            self._drop(keep)
            self._fresh.update(new)
        if self.first_step is None:
            self.first_step = step
        self._last = step
        rec = {"step": step, "time": round(time.time() if now is None else now, 3), **rec_values}
        self._append(rec)
        return rec

    def log_media(self, step: int | None, items: Mapping[str, str | os.PathLike]) -> dict:
        """Append a record naming pictures/GIFs (paths relative to the stage folder when inside
        it) at ``step`` (``None``: the latest step logged)."""
        self._check()
        if step is None:
            step = self.last_step
        paths = {}
        for name, p in items.items():
            p = Path(p)
            try:
                paths[str(name)] = str(p.resolve().relative_to(self.folder.resolve()))
            except ValueError:
                paths[str(name)] = str(p)
        rec = {"step": int(step), "time": round(time.time(), 3), "media": paths}
        if set(paths.items()) <= self._media_seen:  # the same picture named again: once is enough
            return rec
        self._media_seen |= set(paths.items())
        self._append(rec)
        return rec

    def _append(self, rec: dict) -> None:
        if self._fh is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open while the stage runs)
        # one write() of a whole line, then flush: a kill -9 leaves at most one torn line
        self._fh.write(_line(rec))
        self._fh.flush()

    def flush(self) -> None:
        """Every record appended so far on disk (flushed and fsynced)."""
        if self._fh is not None:
            self._fh.flush()
            try:
                os.fsync(self._fh.fileno())
            except OSError:
                pass

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError:
                pass
            self._fh.close()
            self._fh = None


def _line(rec: Mapping[str, Any]) -> str:
    return json.dumps(rec, allow_nan=False, separators=(", ", ": ")) + "\n"


class StageLog:
    """What :meth:`almost.RunContext.log_step` writes to: the stage's history file and the
    trackers named by ``track.with`` (see :mod:`almost.observe.tracking`)."""

    def __init__(self, folder: str | os.PathLike, label: str = "", trackers: Any = None) -> None:
        self.folder = Path(folder)
        self.history = History(folder)
        self.label = label or self.folder.name
        self.trackers = trackers

    @classmethod
    def for_context(cls, ctx: Any) -> StageLog:
        folder = ctx.round_dir() / ctx.stage_name
        label = ctx.stage_name
        if ctx.pipeline.rounds:
            label = f"{ctx.round_dir().name}/{ctx.stage_name}"
        trackers = None
        track = getattr(ctx, "track", None)
        if track is not None and track.trackers:
            from .tracking import StageTrackers

            trackers = StageTrackers(track, ctx.run_dir, label, run_name=f"{ctx.pipeline.name}-{ctx.run_dir.name}",
                                     project=f"almost-{ctx.pipeline.name}", config=ctx.config)
        return cls(folder, label, trackers)

    def log(self, step: int, values: Mapping[str, Any]) -> dict:
        rec = self.history.log(step, values)
        if self.trackers is not None:
            self.trackers.log(rec["step"], {k: v for k, v in rec.items() if k not in ("step", "time")},
                              first_step=self.history.first_step)
        return rec

    def log_media(self, step: int | None, items: Mapping[str, str | os.PathLike]) -> dict:
        seen = len(self.history._media_seen)
        rec = self.history.log_media(step, items)
        if self.trackers is not None and len(self.history._media_seen) != seen:  # new pictures only
            self.trackers.log_media(rec["step"], {k: Path(v) for k, v in items.items()},
                                    first_step=self.history.first_step)
        return rec

    def flush(self) -> None:
        """The history file and the trackers written out up to now (before a checkpoint counts)."""
        self.history.flush()
        if self.trackers is not None:
            self.trackers.flush()

    def close(self) -> None:
        self.history.close()
        if self.trackers is not None:
            self.trackers.finish()
