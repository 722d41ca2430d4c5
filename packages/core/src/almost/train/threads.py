"""How many CPU threads torch may use: the cores this process really gets, not the machine's.

torch sizes its intra-op thread pool from the machine. On a shared or busy machine (a
container limited to 2 cores of 64, a laptop already running a game) that oversubscribes
the cores and a small model trains ten times slower: a world model's ``train`` stage went from 2.4 to
0.17 steps/s on a loaded 2-core machine. The policy:

* the main process of a stage (and ``play``) uses :func:`cpu_budget` threads: the cores in
  its affinity mask (``os.sched_getaffinity``), capped by a cgroup CPU quota, less the
  cores other programs keep busy (the 1-minute load average beyond our own process, or the
  tasks runnable right now when fewer, so a finished stage's workers don't count) — or
  exactly ``OMP_NUM_THREADS`` when the user set it. Too few threads costs at most the
  parallel speed-up; too many costs 10× (threads wait on each other's descheduled peers);
* a process that runs beside others (a worker of ``collect``, one game of a vector env)
  uses **one** thread: call :func:`worker_init` first thing in the worker;
* ``ALMOST_THREADS=N`` overrides both for the main process.

:func:`for_stage` applies it around one stage (the pipeline does this for every stage):
torch's threads in this process, ``OMP_NUM_THREADS=1`` for the processes the stage starts.
Importing this module never imports torch; :func:`for_stage` does, when it is installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping


def _int_env(name: str, env: Mapping[str, str]) -> int | None:
    try:
        n = int(env.get(name, "").strip())
    except ValueError:
        return None
    return n if n >= 1 else None


def _cgroup_cpus(path: str = "/sys/fs/cgroup/cpu.max") -> float | None:
    """CPUs allowed by a cgroup v2 quota (``"200000 100000"`` → 2.0), None when unlimited."""
    try:
        with open(path) as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(float(quota) / float(period), 1.0)
    except (ValueError, ZeroDivisionError):
        return None


def available_cores() -> int:
    """Cores this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        n = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None:
        n = min(n, math.ceil(quota))
    return max(n, 1)


def cpu_budget(workers: int = 1, env: Mapping[str, str] | None = None) -> int:
    """Intra-op threads for one of ``workers`` processes sharing this process's cores.

    ``ALMOST_THREADS`` wins, then ``OMP_NUM_THREADS`` (the user's explicit choice), then the
    idle cores divided among the workers (at least one each). The local processes of an
    ``accelerate launch`` (``LOCAL_WORLD_SIZE``) count as workers too."""
    env = os.environ if env is None else env
    # processes of one `accelerate launch` on this machine share its cores
    workers = max(1, workers) * (_int_env("LOCAL_WORLD_SIZE", env) or 1)
    for name in ("ALMOST_THREADS", "OMP_NUM_THREADS"):
        # inside a stage, OMP_NUM_THREADS=1 is for_stage's setting for the processes it starts,
        # not the user's: read the user's own value, which for_stage kept aside
        n = _int_env(_USER_OMP if name == "OMP_NUM_THREADS" and _USER_OMP in env else name, env)
        if n is not None:
            return n if workers <= 1 else max(1, n // workers)
    return max(1, idle_cores() // max(1, workers))


_USER_OMP = "ALMOST_USER_OMP_NUM_THREADS"  # set by for_stage while a stage runs ("" = unset)


def _runnable_now(samples: int = 5, gap: float = 0.01) -> float | None:
    """Tasks runnable right now, machine-wide (``/proc/loadavg``'s ``running/total``),
    averaged over a few samples ``gap`` seconds apart; None where there is no such file."""
    counts = []
    for i in range(samples):
        if i:
            time.sleep(gap)
        try:
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]))
        except (OSError, ValueError, IndexError):
            return None
    return sum(counts) / len(counts)


def idle_cores() -> int:
    """:func:`available_cores` less those other programs keep busy, counting one runnable
    task as our own; at least one. Busy is the 1-minute load average, or the tasks runnable
    right now when fewer: the average still carries the previous stage's own worker processes
    (a 2-core machine that just ran ``collect`` reads ~2 for a minute) and they have ended."""
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    now = _runnable_now()
    if now is not None:
        load = min(load, now)
    busy = max(0.0, load - 1.0)
    return max(1, min(cores, math.floor(cores - busy + 0.5)))


def set_threads(n: int) -> int:
    """Use ``n`` intra-op threads in torch (if it is imported) and in children (``OMP_NUM_THREADS``)."""
    n = max(1, int(n))
    os.environ["OMP_NUM_THREADS"] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(n)
    return n


def worker_init() -> None:
    """Call first thing in a worker process that runs beside others: one thread each."""
    set_threads(1)


@contextlib.contextmanager
def for_stage(workers: int = 1) -> Iterator[int]:
    """Run a stage under the policy: this process's torch uses :func:`cpu_budget` threads, and
    processes the stage starts (``collect`` workers, vector-env games) inherit
    ``OMP_NUM_THREADS=1``, one thread each. Both are restored afterwards.

    torch is imported here (when installed) so that its thread count can be set now rather
    than read later from an environment variable meant for the children."""
    saved_env = os.environ.get("OMP_NUM_THREADS")
    n = cpu_budget(workers)
    torch = sys.modules.get("torch")
    if torch is None and importlib.util.find_spec("torch") is not None:
        import torch
    saved = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = "1"  # for the processes this stage starts
    saved_user = os.environ.get(_USER_OMP)
    os.environ[_USER_OMP] = saved_env or ""  # cpu_budget() inside the stage reads the user's value
    try:
        yield n
    finally:
        if saved_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved_env
        if saved_user is None:
            os.environ.pop(_USER_OMP, None)
        else:
            os.environ[_USER_OMP] = saved_user
        if torch is not None and saved is not None:
            torch.set_num_threads(saved)


class TreeCpu:
    """CPU-seconds of this process and every process it started (worker processes, the games
    they run, a forkserver's children), for a stage's CPU-seconds ÷ wall-seconds figure.

    ``os.times()`` counts only children this process has waited for; a ``collect`` worker is
    a forkserver's child and a ViZDoom game its worker's, so on Linux a helper thread reads
    ``/proc`` every ``every_s`` seconds and keeps the last CPU time seen of each descendant (a
    process that ends between two reads loses at most that interval). Elsewhere: ``os.times()``.
    """

    def __init__(self, every_s: float = 1.0) -> None:
        import threading

        self._seen: dict[int, float] = {}
        self._start = self._own()
        self._base = {pid: cpu for pid, cpu in self._descendants().items()}  # already running: count from now
        self._stop = threading.Event()
        self._thread = None
        if os.path.isdir("/proc/self/task"):
            self._thread = threading.Thread(target=self._watch, args=(every_s,), name="almost-cpu", daemon=True)
            self._thread.start()
        self._times0 = os.times()

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system

    @staticmethod
    def _descendants() -> dict[int, float]:
        """pid → CPU-seconds of every live descendant of this process (Linux ``/proc``)."""
        try:
            names = os.listdir("/proc")
        except OSError:
            return {}
        hz = os.sysconf("SC_CLK_TCK")
        parent, cpu = {}, {}
        for n in names:
            if not n.isdigit():
                continue
            try:
                with open(f"/proc/{n}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
            except OSError:
                continue
            parent[int(n)] = int(fields[1])
            cpu[int(n)] = (int(fields[11]) + int(fields[12])) / hz  # utime + stime
        me, out = os.getpid(), {}
        for pid in cpu:
            p, hops = parent.get(pid), 0
            while p is not None and p > 1 and p != me and hops < 64:
                p, hops = parent.get(p), hops + 1
            if p == me and pid != me:
                out[pid] = cpu[pid]
        return out

    def _sample(self) -> None:
        for pid, c in self._descendants().items():
            self._seen[pid] = max(self._seen.get(pid, 0.0), c - self._base.get(pid, 0.0))

    def _watch(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self._sample()

    def seconds(self) -> float:
        """CPU-seconds used since creation by this process and its descendants."""
        own = self._own() - self._start
        if self._thread is None:
            t = os.times()
            return own + (t.children_user + t.children_system) - (self._times0.children_user + self._times0.children_system)
        self._sample()
        return own + sum(self._seen.values())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
