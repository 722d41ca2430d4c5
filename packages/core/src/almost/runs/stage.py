"""What a plugin registers: a :class:`Pipeline` of named :class:`Stage` objects.

A stage is a function ``run(ctx: RunContext) -> None``; it may be given as
``"package.module:function"`` so heavy imports happen only when the stage runs. A stage that
was interrupted is simply called again: it resumes from the checkpoints in its folder.

Pipelines with ``rounds=True`` (a generate → … → export loop) start a new round when every
stage of the current one is done: stage folders then live under ``round-NNN/`` and a stage can
find the previous round's output with :meth:`RunContext.previous_stage_dir`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .. import config as cfgmod
from ..errors import UnknownNameError

if TYPE_CHECKING:
    from .context import RunContext


@attrs.define
class Stage:
    """One step of a pipeline. ``run`` is a callable or a ``"module:function"`` string."""

    name: str
    run: Callable[[RunContext], Any] | str
    help: str = ""

    def resolve(self) -> Callable[[RunContext], Any]:
        if callable(self.run):
            return self.run
        module, _, func = self.run.partition(":")
        return getattr(importlib.import_module(module), func)


@attrs.define
class Pipeline:
    """A runnable pipeline: ``almost run --plugin NAME``.

    ``headline``: words of this pipeline's headline figures, best first (a metric whose name
    contains one is shown in the end-of-run table and the report's overview; the rest stay in
    ``metrics.json``). Empty: the core's generic words (:data:`almost.observe.console.HEADLINE`)."""

    name: str
    stages: Sequence[Stage]
    profiles: Mapping[str, Callable[[], Any]]
    help: str = ""
    rounds: bool = False
    default_profile: str = "tiny"
    plugin: str | None = None
    headline: Sequence[str] = ()

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise UnknownNameError(
            f"pipeline {self.name!r} has no stage {name!r}; stages: {', '.join(s.name for s in self.stages)}"
        )

    def resolve_config(self, profile: str | None = None, config_file=None, sets: Sequence[str] = (),
                       registry: Any = None) -> Any:
        """The config of ``profile`` + file + ``--set``; with ``registry``, component names are
        checked too (so a bad ``--set reward=...`` fails before anything runs)."""
        return cfgmod.resolve(self.profiles, profile or self.default_profile, config_file, sets, registry)
