"""What keeps one run safe from others and from itself: the run-directory lock, signals, and
the helpers for ``accelerate launch`` / ``torchrun`` (only the main process writes records).

* one ``almost run`` per run directory: an exclusive lock (``.almost.lock``, held by the main
  process for the whole run); a second run exits at once naming the holder, and a lock left by
  a dead process is taken over with a note;
* SIGINT / SIGTERM stop the stage as "interrupted" with the step reached (exit 130 / 143).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from ..errors import RunLocked
from ..io import atomic_write_json
from ..observe.console import console


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
