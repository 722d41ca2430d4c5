"""``almost.open_run(path)``: a finished (or partly finished) run, read back.

Every reader of a run directory goes through here (the plugins' play, serve and try verbs,
their generators built from a run, label verbs, the report), so the rules live in one
place: the config is the run's own ``config.toml`` resolved through its pipeline's profile into
the typed config class (defaults come from the class, never repeated as literals), the manifest
is checked entry by entry, and stage folders follow the pipeline's round layout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import UserError

__all__ = ["OpenedRun", "open_run"]


@attrs.frozen
class OpenedRun:
    """What :func:`open_run` returns. ``config`` is the pipeline's typed config (attrs), as the
    run resolved it; ``manifest`` is the checked ``manifest.json`` (``{}`` before any stage
    finished)."""

    path: Path
    pipeline: str
    profile: str
    config: Any
    manifest: Mapping[str, Any]
    rounds: bool = False

    @property
    def round(self) -> int:
        """The run's current round (1 for pipelines without rounds)."""
        return int(self.manifest.get("round", 1))

    def stage_dir(self, name: str, round: int | None = None) -> Path:
        """``<run>/<name>``, or ``<run>/round-NNN/<name>`` (current round unless given)."""
        if not self.rounds:
            return self.path / name
        return self.path / f"round-{int(round or self.round):03d}" / name

    def status(self, name: str) -> str | None:
        """The current round's record of stage ``name``: done, failed, … or None if it never ran."""
        rec = self.manifest.get("stages", {}).get(name)
        return rec.get("status") if isinstance(rec, Mapping) else None

    def done(self, name: str) -> bool:
        return self.status(name) == "done" and self.stage_dir(name).is_dir()

    def artifacts(self, name: str) -> dict[str, Path]:
        """The artifacts stage ``name`` recorded, label → absolute path."""
        rec = self.manifest.get("stages", {}).get(name) or {}
        return {k: self.path / v for k, v in (rec.get("artifacts") or {}).items()}

    def find(self, *candidates: str) -> Path | None:
        """The first of ``candidates`` (paths relative to the run, e.g. ``"refine/adapter"``,
        round layout applied to the first component) that exists, else None."""
        for rel in candidates:
            stage, _, rest = rel.partition("/")
            p = self.stage_dir(stage) / rest if rest else self.stage_dir(stage)
            if p.exists():
                return p
        return None

    def require(self, *candidates: str, hint: str = "") -> Path:
        """:meth:`find`, or one sentence naming what is missing and how to make it."""
        p = self.find(*candidates)
        if p is None:
            how = hint or f"run `almost run --plugin {self.pipeline} --out {self.path}` first"
            raise UserError(f"{self.path} has no {' or '.join(candidates)}; {how}")
        return p


def open_run(path: str | os.PathLike, pipeline: str | None = None, *, app: Any = None) -> OpenedRun:
    """Open the run directory ``path``. With ``pipeline``, a run of another pipeline is refused
    (one sentence naming both). A folder that is not a run, a damaged ``config.toml`` or
    ``manifest.json``, or a config its pipeline no longer accepts is one :class:`UserError`."""
    from .. import config as cfgmod
    from .rundir import read_manifest

    run = Path(path)
    example = f"runs/{pipeline}/tiny" if pipeline else "runs/<plugin>/tiny"
    if not run.is_dir():
        raise UserError(f"run directory {run} does not exist; give the folder an `almost run` wrote (e.g. {example})")
    cfg_path = run / "config.toml"
    if not cfg_path.is_file():
        raise UserError(f"{run} is not {'a ' + pipeline if pipeline else 'an Almost'} run directory (no config.toml); "
                        f"give the folder an `almost run` wrote (e.g. {example})")
    try:
        header = cfgmod.load_toml(cfg_path).get("almost", {})
    except UserError as e:
        raise UserError(f"{e} (the run directory's record of its config; restore it, or run again)") from None
    name = header.get("pipeline") if isinstance(header, Mapping) else None
    profile = header.get("profile") if isinstance(header, Mapping) else None
    if not isinstance(name, str) or not name:
        if pipeline is None:
            raise UserError(f"{cfg_path} does not say which pipeline wrote it (no [almost] pipeline = ...); "
                            "give the folder an `almost run` wrote")
        name = pipeline
    if pipeline is not None and name != pipeline:
        raise UserError(f"{run} is a run of {name!r}, not of {pipeline!r}; give a folder that "
                        f"`almost run --plugin {pipeline}` wrote (e.g. {example})")
    if app is None:
        from ..plugins import get_app

        app = get_app()
    pipe = app.pipeline(name)
    cfg = pipe.resolve_config(profile if isinstance(profile, str) and profile else None, cfg_path)
    manifest = read_manifest(run)
    return OpenedRun(run, name, profile if isinstance(profile, str) else pipe.default_profile, cfg, manifest,
                     rounds=bool(pipe.rounds))
