"""Running pipelines from Python: a config object in, the run's metrics out.

    import almost

    cfg = almost.config_for("gamengen")                       # the tiny profile, as an attrs object
    cfg = attrs.evolve(cfg, agent=attrs.evolve(cfg.agent, total_steps=256))
    metrics = almost.run("gamengen", ["agent", "collect"], config=cfg, out="runs/mine", quiet=True)
    print(metrics["agent"])

The same rules as ``almost run`` apply: finished stages are skipped, a changed config for an
existing run directory is refused unless ``force=True``. Stages that start worker processes
(gamengen's ``agent`` and ``collect``) re-import your script in each worker: keep the call
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
    from .console import console, err_console

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
    from .pipeline import run_pipeline

    app = _app(app)
    pipeline = app.pipeline(plugin)
    profile = profile or pipeline.default_profile
    if config is not None:
        from .config import _fields, parse_set

        # the core's [track] section is not part of a pipeline's config: keep its --set strings
        # for run_pipeline (almost.tracking reads them), apply the rest to the object
        core_track = "track" not in _fields(config)
        track_sets = [s for s in sets if core_track and parse_set(s)[0].split(".")[0] == "track"]
        other_sets = [s for s in sets if s not in track_sets]
        if config_file is not None or other_sets:
            from .config import apply_mapping, apply_sets, load_toml

            if config_file is not None:
                data = load_toml(config_file)
                data.pop("almost", None)
                if core_track:
                    data.pop("track", None)
                config = apply_mapping(config, data)
            config = apply_sets(config, other_sets)
        fixed = config
        pipeline = attrs.evolve(pipeline, profiles={**pipeline.profiles, profile: lambda: fixed})
        sets = track_sets  # config_file stays: its [track] table is read by almost.tracking
    with quiet_console(quiet):
        return run_pipeline(pipeline, app.registry, stages=stages, profile=profile, config_file=config_file,
                            sets=sets, out=out, force=force)
