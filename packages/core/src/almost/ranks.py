"""Per-sample work split across the processes of an ``accelerate launch``.

A stage that makes or scores samples one by one (images from a prompt × seed grid, held-out
episodes, eval specs) takes its share, and the main process merges the shares and writes::

    from almost import ranks

    mine = ranks.share(jobs, chunk=batch_size)        # whole batches, dealt round-robin
    made = [make(batch) for batch in batches(mine)]   # this process's batches only
    everything = ranks.merge(ranks.gather(made_flat), len(jobs), chunk=batch_size)
    if ranks.is_main():
        write(everything)

Items are dealt in chunks of ``chunk`` consecutive items (chunk ``i`` to rank ``i % world``), so
with ``chunk`` = the batch size every batch holds exactly the items one process would have put
in it: the same numbers, not just close ones. Alone (no launch), :func:`share` returns
everything and :func:`gather` its argument in a list, so a stage has one code path.

:func:`gather` is a collective: every process must call it, the same number of times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return rank() == 0


def _chunks_of(n: int, chunk: int, r: int, world: int) -> list[range]:
    chunk = max(1, int(chunk))
    return [range(a, min(a + chunk, n)) for a in range(r * chunk, n, world * chunk)]


def positions(n: int, chunk: int = 1, r: int | None = None) -> list[int]:
    """Indexes into a list of ``n`` items that rank ``r`` (default: this one) takes."""
    r = rank() if r is None else r
    return [i for c in _chunks_of(n, chunk, r, world_size()) for i in c]


def share(items: Sequence[T], chunk: int = 1) -> list[T]:
    """This process's items: chunks of ``chunk`` consecutive items, dealt round-robin."""
    return [items[i] for i in positions(len(items), chunk)]


def in_rounds(items: Sequence[T], chunk: int) -> Iterator[list[T]]:
    """This process's chunk of each round of ``world_size`` chunks (``[]`` when none is left for
    it). Every process gets the same number of rounds, so a :func:`gather` after each round
    keeps them in step; the gathered chunks, in rank order, are the round's items in order."""
    chunk, w, r = max(1, int(chunk)), world_size(), rank()
    for a in range(0, len(items), w * chunk):
        lo = a + r * chunk
        yield list(items[lo:lo + chunk])


def gather(obj: Any) -> list[Any]:
    """``obj`` of every process, in rank order, on every process (``[obj]`` alone). Picklable
    objects; tensors travel as they are, so move them to the CPU first."""
    if world_size() == 1:
        return [obj]
    import torch
    import torch.distributed as dist
    from accelerate import PartialState

    PartialState(cpu=not torch.cuda.is_available())  # the process group (as the pipeline's barrier)
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def merge(parts: Sequence[Sequence[T]], n: int, chunk: int = 1) -> list[T]:
    """Put the shares of every rank (``parts[r]``: what rank ``r`` made from :func:`share` with
    the same ``n`` and ``chunk``) back in the order of the original items."""
    out: list[Any] = [None] * n
    for r, part in enumerate(parts):
        pos = positions(n, chunk, r)
        if len(pos) != len(part):
            raise ValueError(f"rank {r} returned {len(part)} items for {len(pos)}")
        for i, x in zip(pos, part):
            out[i] = x
    return out


def gather_shares(mine: Sequence[T], n: int, chunk: int = 1) -> list[T]:
    """:func:`gather` then :func:`merge`: everything, in order, on every process."""
    return merge(gather(list(mine)), n, chunk)


def say_share(stage: str, mine: int, total: int, what: str) -> None:
    """One line per process under a launch: ``generate: process 1 of 2 takes 6 of 18 images``."""
    if world_size() > 1:
        from .observe.console import console

        console.print(f"{stage}: process {rank()} of {world_size()} takes {mine} of {total} {what}")


def barrier() -> None:
    """Wait for every process (a no-op alone)."""
    gather(None)


def broadcast(obj: Any) -> Any:
    """The main process's ``obj`` on every process (what it read from the run directory, say)."""
    return gather(obj)[0] if world_size() > 1 else obj
