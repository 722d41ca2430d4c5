"""A trainer's finished ``fit()``: its metrics, kept beside its checkpoints so that a second
``fit()`` on the same folder trains no further and returns them (the Trainer protocol).

The record names the newest checkpoint at the end of the fit; it counts only while that is
still the newest one (a checkpoint removed or added since means the fit is not the finished one).
"""

from __future__ import annotations

import json
from pathlib import Path

FIT_METRICS = "fit_metrics.json"


def _newest(folder: Path) -> str | None:
    steps = sorted(p.name for p in (folder / "checkpoints").glob("step-*") if p.is_dir())
    return steps[-1] if steps else None


def read(folder: Path) -> dict | None:
    """The metrics of the fit that finished in ``folder``, or None."""
    f = folder / FIT_METRICS
    if not f.is_file():
        return None
    got = json.loads(f.read_text())
    return dict(got["metrics"]) if got.get("checkpoint") == _newest(folder) else None


def write(folder: Path, metrics: dict) -> None:
    from almost.io import atomic_write_json
    from almost.runs import is_main_process

    if is_main_process():
        atomic_write_json(folder / FIT_METRICS, {"checkpoint": _newest(folder), "metrics": metrics})
