"""The terminal: rich progress bars for long work and a summary table at the end.

Everything a run prints goes through :data:`console`, so tests can capture it and a
non-terminal (CI, a pipe) gets plain lines instead of animations.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .format import format_duration, format_number

console = Console(highlight=False, soft_wrap=False, width=None if os.isatty(1) else 120)
err_console = Console(stderr=True, highlight=False)

T = TypeVar("T")

# the newest count a progress bar showed: ``interrupted at step N of STAGE`` reads it
_last_step: dict[str, Any] = {}


def last_step() -> int | None:
    """The count the most recently updated progress bar showed (``None``: no bar yet)."""
    return _last_step.get("completed")


def reset_last_step() -> None:
    _last_step.clear()


class _Progress(Progress):
    """A ``Progress`` that remembers the newest count (for the interruption message)."""

    def _remember(self, task_id) -> None:
        try:
            task = self._tasks[task_id]
        except (KeyError, AttributeError):
            return
        _last_step.update(completed=int(task.completed), total=task.total, description=task.description)

    def update(self, task_id, *args, **kwargs) -> None:
        super().update(task_id, *args, **kwargs)
        self._remember(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._remember(task_id)

    def add_task(self, *args, **kwargs):
        task_id = super().add_task(*args, **kwargs)
        self._remember(task_id)
        return task_id


def progress(transient: bool = False) -> Progress:
    """A rich ``Progress`` with description, bar, count, elapsed and remaining time, and a
    free ``{task.fields[info]}`` column for things like the current loss."""
    return _Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=transient,
        disable=os.environ.get("ALMOST_NO_PROGRESS") == "1",
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress() as p:
        task = p.add_task(description, total=total, info="")
        for item in items:
            yield item
            p.advance(task)


_fmt = format_number  # the one number format (almost.observe.format)

# generic words of headline figures, best first, for a pipeline that names none of its own
# (Pipeline.headline); the rest stay in metrics.json
HEADLINE = ("gain", "after", "final", "heldout", "held_out", "eval", "reward", "rate", "accuracy", "acc",
            "loss", "score", "kl", "per_s")
_NOT_HEADLINE = ("seconds", "params", "resumed", "_init", "before", "count", "missing", "shards")


def headline(values: Mapping[str, Any], words: Sequence[str] = (), n: int = 4) -> list[str]:
    """The names of up to ``n`` headline figures of a stage's metrics (in their own order).
    ``words``: the pipeline's headline words, best first (:attr:`almost.Pipeline.headline`;
    empty: :data:`HEADLINE`)."""
    words = tuple(words) or HEADLINE

    def score(item):
        i, k = item
        low = k.lower()
        if any(w in low for w in _NOT_HEADLINE):
            return (len(words) + 1, i)
        hit = next((j for j, w in enumerate(words) if w in low), len(words))
        return (hit, i)

    ranked = sorted(enumerate(k for k, v in values.items() if isinstance(v, int | float) or v is None), key=score)
    hits = [k for i, k in ranked if score((i, k))[0] < len(words)]
    rest = [k for i, k in ranked if score((i, k))[0] == len(words)]
    keep = set((hits + rest[: max(0, 2 - len(hits))])[:n])  # plain counts only when little else is there
    return [k for k in values if k in keep]


def summary_table(metrics: Mapping[str, Mapping[str, Any]], records: Mapping[str, Mapping[str, Any]] | None = None,
                  title: str = "Summary", caption: str | None = None, words: Sequence[str] = ()) -> Table:
    """The end-of-run table: one row per stage with its duration (from the manifest
    ``records``) and its headline figures (``words``: the pipeline's, see :func:`headline`);
    the full list stays in ``metrics.json``."""
    records = records or {}
    table = Table(title=title, show_lines=False, caption=caption, min_width=min(len(title) + 4, 120))
    table.add_column("stage", style="cyan")
    table.add_column("time", justify="right")
    # CPU-seconds ÷ wall-seconds of the stage's process and its workers (2.0: two cores busy)
    cpu = any(records.get(s, {}).get("cpu_per_wall") is not None for s in metrics)
    if cpu:
        table.add_column("CPU÷wall", justify="right")
    table.add_column("headline figures")
    for stage, values in metrics.items():
        names = headline(values, words)
        more = len(values) - len(names)
        figs = "  ".join(f"{k} [bold]{_fmt(values[k])}[/]" for k in names)
        if more > 0:
            figs += f"  [dim]+{more} more[/]"
        rec = records.get(stage, {})
        ratio = [] if not cpu else [f"{rec['cpu_per_wall']:.2f}" if rec.get("cpu_per_wall") is not None else "-"]
        table.add_row(stage, format_duration(rec.get("seconds")), *ratio, figs or "-")
    return table

