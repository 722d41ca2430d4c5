"""Runs: pipelines of stages, the run directory they share, the driver, and reading a run back.

* :mod:`.stage` — :class:`Stage`, :class:`Pipeline` (what a plugin registers);
* :mod:`.context` — :class:`RunContext` (what a stage gets);
* :mod:`.rundir` — :class:`RunDir`: manifest, config, metrics, records lock, set-aside/stale;
* :mod:`.guards` — the run-directory lock, signals, distributed helpers;
* :mod:`.driver` — :func:`run_pipeline`, the loop over stages;
* :mod:`.opened` — :func:`open_run`, a finished run read back.
"""

from .context import RunContext
from .driver import default_run_dir, run_pipeline
from .guards import RunDirLock, is_main_process
from .opened import OpenedRun, open_run
from .rundir import STAGE_CONFIG, STAGE_METRICS, RunDir, mark_stale, records_lock
from .stage import Pipeline, Stage

__all__ = [
    "STAGE_CONFIG",
    "STAGE_METRICS",
    "OpenedRun",
    "Pipeline",
    "RunContext",
    "RunDir",
    "RunDirLock",
    "Stage",
    "default_run_dir",
    "is_main_process",
    "mark_stale",
    "open_run",
    "records_lock",
    "run_pipeline",
]
