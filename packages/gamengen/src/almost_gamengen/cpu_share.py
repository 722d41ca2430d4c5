"""Keep torch's CPU threads matched to the cores the rest of the machine leaves free, while a
stage runs.

:func:`almost.train.threads.cpu_budget` sizes a stage's threads once, when it starts. A 2-core
machine changes under a 5-minute stage: another program starts or ends, the previous stage's
worker processes wind down. :class:`ThreadRetune` re-measures every ``every_s`` seconds how
much CPU *other* processes used (the machine's busy time from ``/proc/stat`` less this
process's own CPU time), and sets ``torch.set_num_threads`` to the cores left, rounded: both
cores on an idle 2-core machine, one when something else keeps one busy (too many threads on a
busy machine cost 10×: see :mod:`almost.train.threads`). It does nothing where the user fixed the
count (``ALMOST_THREADS`` or their own ``OMP_NUM_THREADS``), on a GPU, or without
``/proc/stat``. Calling it costs a clock read except every ``every_s`` seconds.
"""

from __future__ import annotations

import math
import os
import time


def _busy_jiffies(cpus: set[int] | None) -> float | None:
    """Non-idle jiffies of ``cpus`` (all CPUs when None) from ``/proc/stat``."""
    try:
        with open("/proc/stat") as f:
            lines = [ln.split() for ln in f if ln.startswith("cpu")]
    except OSError:
        return None
    total = 0.0
    for parts in lines:
        name = parts[0]
        if cpus is None:
            if name != "cpu":
                continue
        elif name == "cpu" or int(name[3:]) not in cpus:
            continue
        v = [float(x) for x in parts[1:9]]
        total += sum(v) - v[3] - v[4]  # less idle and iowait
    return total


def user_fixed_threads(env=None) -> bool:
    """True when the user set the thread count (``ALMOST_THREADS``, or ``OMP_NUM_THREADS``
    outside the value a stage sets for its worker processes)."""
    from almost.train import threads

    env = os.environ if env is None else env
    if env.get("ALMOST_THREADS", "").strip():
        return True
    key = getattr(threads, "_USER_OMP", None)
    user = env.get(key) if key and key in env else env.get("OMP_NUM_THREADS")
    return bool((user or "").strip())


class ThreadRetune:
    """``retune()`` in a stage's loop: torch threads = cores the other processes leave idle."""

    def __init__(self, every_s: float = 15.0, enabled: bool = True):
        from almost.train.threads import available_cores

        self.every_s = float(every_s)
        try:
            self.cpus = set(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            self.cpus = None
        self.cores = available_cores()
        self.enabled = enabled and not user_fixed_threads() and _busy_jiffies(self.cpus) is not None
        self.changes = 0
        self._mark()

    def _mark(self) -> None:
        self._t = time.monotonic()
        self._own = time.process_time()
        self._busy = _busy_jiffies(self.cpus) if self.enabled else None

    def others(self) -> float | None:
        """Cores other processes kept busy since the last measurement (None: not measured)."""
        busy = _busy_jiffies(self.cpus)
        if busy is None or self._busy is None:
            return None
        wall = time.monotonic() - self._t
        if wall <= 0:
            return None
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        machine = (busy - self._busy) / hz
        own = time.process_time() - self._own
        return max(0.0, (machine - own) / wall)

    def __call__(self) -> int | None:
        """Re-size if ``every_s`` passed; returns the new thread count when it changed."""
        if not self.enabled or time.monotonic() - self._t < self.every_s:
            return None
        import torch

        others = self.others()
        self._mark()
        if others is None:
            return None
        n = max(1, min(self.cores, math.floor(self.cores - others + 0.5)))
        if n == torch.get_num_threads():
            return None
        torch.set_num_threads(n)  # this process only: worker processes keep their one thread
        self.changes += 1
        return n


class CpuClock:
    """CPU-seconds ÷ wall-seconds of this process (and its finished children) since creation."""

    def __init__(self):
        self._t = time.monotonic()
        self._cpu = _cpu_seconds()

    def ratio(self) -> float:
        wall = time.monotonic() - self._t
        return (_cpu_seconds() - self._cpu) / wall if wall > 0 else 0.0


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
