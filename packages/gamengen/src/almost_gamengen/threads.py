"""Size torch's CPU threads to the cores a stage really gets (core policy: :mod:`almost.threads`).

The pipeline already does this around every stage; stages call :func:`size_threads` too, so
that a stage run directly (tests, notebooks) or under ``accelerate launch`` behaves the same.
A GPU stage is left alone.
"""

from __future__ import annotations


def size_threads(device, local_processes: int = 1) -> int | None:
    """On a CPU ``device``: torch uses :func:`almost.threads.cpu_budget` threads; returns them."""
    import torch

    from almost.threads import cpu_budget, set_threads

    if torch.device(device).type != "cpu":
        return None
    return set_threads(cpu_budget(local_processes))
