"""Finding and loading plugins.

Every entry point in the ``almost`` group is a plugin: its name is the plugin's name, its
value a module (or object) with ``@almost.hookimpl`` functions. Each one is imported and
registered inside its own ``try``, so a plugin that fails to import (or whose hooks raise)
is recorded as broken, with its error, and the others still load.

Environment variables:

* ``ALMOST_PLUGINS`` — comma-separated names to load (all others are skipped); set it to an
  empty string to load no plugin at all.
* ``ALMOST_DISABLE_PLUGINS`` — comma-separated names never to load.

:func:`load` builds a fresh :class:`App` (use it in tests); :func:`get_app` caches one for
the CLI.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import UnknownNameError, known_list
from .pipeline import Pipeline
from .registry import Registry

GROUP = "almost"


@attrs.define
class PluginInfo:
    """What ``almost plugins`` shows for one plugin."""

    name: str
    value: str
    distribution: str | None = None
    version: str | None = None
    error: str | None = None
    skipped: str | None = None
    hooks: list[str] = attrs.Factory(list)
    components: list[str] = attrs.Factory(list)
    pipelines: list[str] = attrs.Factory(list)

    @property
    def broken(self) -> bool:
        return self.error is not None


@attrs.define
class App:
    """The loaded plugin manager, registry and pipelines."""

    pm: pluggy.PluginManager
    registry: Registry
    pipelines: dict[str, Pipeline]
    plugins: dict[str, PluginInfo]

    def pipeline(self, name: str) -> Pipeline:
        try:
            return self.pipelines[name]
        except KeyError:
            pass
        info = self.plugins.get(name)
        if info is not None and info.broken:
            raise UnknownNameError(f"plugin {name!r} is installed but broken: {info.error}")
        if info is not None and info.skipped:
            raise UnknownNameError(f"plugin {name!r} is not loaded ({info.skipped})")
        raise UnknownNameError(
            f"unknown plugin {name!r}; plugins with pipelines: {known_list(self.pipelines)}"
            " (install the plugin's package, then check 'almost plugins')"
        )


def _names_from_env(var: str, env: Mapping[str, str]) -> set[str] | None:
    if var not in env:
        return None
    return {n.strip() for n in env[var].split(",") if n.strip()}


def _short_error(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {e}{where}"


def load(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    extra: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> App:
    """Build a fresh App from the ``almost`` entry points (and ``extra`` name → plugin objects,
    handy in tests)."""
    env = os.environ if env is None else env
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    pipelines: dict[str, Pipeline] = {}
    plugins: dict[str, PluginInfo] = {}
    allow = _names_from_env("ALMOST_PLUGINS", env)
    deny = _names_from_env("ALMOST_DISABLE_PLUGINS", env) or set()

    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=GROUP)
    candidates: list[tuple[str, str, Any, Any]] = []  # name, value, loader, dist
    for ep in sorted(entry_points, key=lambda e: e.name):
        candidates.append((ep.name, ep.value, ep.load, getattr(ep, "dist", None)))
    for name, obj in (extra or {}).items():
        candidates.append((name, repr(obj), lambda o=obj: o, None))

    for name, value, loader, dist in candidates:
        info = PluginInfo(name=name, value=value)
        if dist is not None:
            info.distribution, info.version = dist.metadata["Name"], dist.version
        plugins[name] = info
        if allow is not None and name not in allow:
            info.skipped = "not in ALMOST_PLUGINS"
            continue
        if name in deny:
            info.skipped = "listed in ALMOST_DISABLE_PLUGINS"
            continue
        _register_one(pm, registry, pipelines, info, loader)
    return App(pm=pm, registry=registry, pipelines=pipelines, plugins=plugins)


def _register_one(pm, registry, pipelines, info: PluginInfo, loader) -> None:
    name = info.name
    new_pipelines: dict[str, Pipeline] = {}
    try:
        plugin = loader()
        if pm.is_registered(plugin) or pm.get_plugin(name) is not None:
            raise ValueError("plugin object already registered under another name")
        pm.register(plugin, name=name)
        pm.check_pending()
        info.hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or []))
        others = [p for p in pm.get_plugins() if p is not plugin]
        registry._owner = name
        pm.subset_hook_caller("almost_register", remove_plugins=others)(registry=registry)

        def register(p: Pipeline) -> None:
            if not isinstance(p, Pipeline):
                raise TypeError(f"almost_pipelines must register Pipeline objects, not {type(p).__name__}")
            if p.name in pipelines or p.name in new_pipelines:
                raise ValueError(f"pipeline {p.name!r} is already registered")
            p.plugin = name
            new_pipelines[p.name] = p

        pm.subset_hook_caller("almost_pipelines", remove_plugins=others)(register=register)
    except Exception as e:  # a broken plugin must never take the others down
        info.error = _short_error(e)
        registry.remove_plugin(name)
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
        return
    finally:
        registry._owner = None
    pipelines.update(new_pipelines)
    info.pipelines = sorted(new_pipelines)
    info.components = [c.key for c in registry.by_plugin(name)]


@functools.cache
def get_app() -> App:
    """The App for this process (loaded once)."""
    return load()
