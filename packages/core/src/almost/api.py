"""Running pipelines from Python: a config object in, the run's metrics out.

    import almost

    cfg = almost.config_for("mine")                           # the tiny profile, as an attrs object
    cfg = attrs.evolve(cfg, train=attrs.evolve(cfg.train, steps=256))
    metrics = almost.run("mine", ["collect", "train"], config=cfg, out="runs/mine", quiet=True)
    print(metrics["train"])

The same rules as ``almost run`` apply: finished stages are skipped, a changed config for an
existing run directory is refused unless ``force=True``. Stages that start worker processes
(a ``collect`` stage with several workers) re-import your script in each worker: keep the call
under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs


@contextlib.contextmanager
def quiet_console(quiet: bool = True) -> Iterator[None]:
    """Silence Almost's console output and progress bars inside the block."""
    if not quiet:
        yield
        return
    from .observe.console import console, err_console

    saved = console.quiet, err_console.quiet, os.environ.get("ALMOST_NO_PROGRESS")
    console.quiet = err_console.quiet = True
    os.environ["ALMOST_NO_PROGRESS"] = "1"
    try:
        yield
    finally:
        console.quiet, err_console.quiet = saved[0], saved[1]
        if saved[2] is None:
            os.environ.pop("ALMOST_NO_PROGRESS", None)
        else:
            os.environ["ALMOST_NO_PROGRESS"] = saved[2]


def _app(app: Any = None) -> Any:
    if app is not None:
        return app
    from .plugins import get_app

    return get_app()


def config_for(plugin: str, profile: str | None = None, config_file: str | Path | None = None,
               sets: Sequence[str] = (), app: Any = None) -> Any:
    """The resolved config object of ``plugin``'s pipeline (a profile, a TOML file, ``--set``
    strings), ready to change with ``attrs.evolve`` and pass to :func:`run`."""
    return _app(app).pipeline(plugin).resolve_config(profile, config_file, sets)


def run(plugin: str, stages: Sequence[str] = (), *, config: Any = None, profile: str | None = None,
        config_file: str | Path | None = None, sets: Sequence[str] = (), out: str | Path | None = None,
        force: bool = False, quiet: bool = False, app: Any = None) -> dict[str, dict[str, float]]:
    """Run ``stages`` (default: all) of ``plugin``'s pipeline and return ``{stage: {metric: value}}``.

    ``config`` is a config object (from :func:`config_for`, or built yourself); without it the
    profile, ``config_file`` and ``sets`` are resolved as on the command line. ``quiet=True``
    prints nothing. ``app`` is an :class:`almost.plugins.App` (default: the installed plugins).
    """
    from .runs import run_pipeline

    app = _app(app)
    pipeline = app.pipeline(plugin)
    profile = profile or pipeline.default_profile
    if config is not None:  # the object is the profile; config_file and sets apply on it as on the CLI
        fixed = config
        pipeline = attrs.evolve(pipeline, profiles={**pipeline.profiles, profile: lambda: fixed})
    with quiet_console(quiet):
        return run_pipeline(pipeline, app.registry, stages=stages, profile=profile, config_file=config_file,
                            sets=sets, out=out, force=force)
