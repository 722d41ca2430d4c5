"""Runs: pipelines of stages, the run directory they share, and reading a run back."""

from .opened import OpenedRun, open_run

__all__ = ["OpenedRun", "open_run"]
