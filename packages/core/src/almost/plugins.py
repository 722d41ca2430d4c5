"""Finding and loading plugins.

Every entry point in the ``almost`` group is a plugin: its name is the plugin's name, its
value a module (or object) with ``@almost.hookimpl`` functions. Each one is imported and
registered inside its own ``try``, so a plugin that fails to import (or whose hooks raise)
is recorded as broken, with its error and traceback, and the others still load.

A plugin is identified by its **distribution** and entry-point name together. Two
distributions that both name their entry point ``mine`` are both loaded, as
``almost-mine-a:mine`` and ``almost-mine-b:mine``, and each row of ``almost plugins`` says
which other distribution shares its name; neither is disabled silently. (If both register
the same component, the second one is reported broken with a message naming both.)

A plugin distribution's requirement on ``almost-core`` (``almost-core>=0.1,<1``) is checked
against the installed core, and a plugin module may state the hook API it was written for
(``almost_hook_api = 1``, compared with :data:`almost.HOOK_API`): a mismatch marks the
plugin broken with a sentence saying what to upgrade, rather than failing later.

Environment variables:

* ``ALMOST_PLUGINS`` — comma-separated plugins to load (entry-point names, ``dist:name``
  ids or distribution names); all others are skipped. Empty: load no plugin at all.
* ``ALMOST_DISABLE_PLUGINS`` — comma-separated plugins never to load (same forms).

:func:`load` builds a fresh :class:`App` (use it in tests and scripts); :func:`get_app`
caches one for the CLI.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import UnknownNameError, known_list
from .registry import Registry
from .runs import Pipeline

GROUP = "almost"
HOOK_API = hookspecs.HOOK_API


@attrs.define
class PluginInfo:
    """What ``almost plugins`` shows for one plugin (``--json`` prints :meth:`as_dict`)."""

    name: str
    value: str
    id: str = ""
    distribution: str | None = None
    version: str | None = None
    requires_core: str | None = None
    error: str | None = None
    traceback: str | None = None
    skipped: str | None = None
    warnings: list[str] = attrs.Factory(list)
    hooks: list[str] = attrs.Factory(list)
    components: list[str] = attrs.Factory(list)
    pipelines: list[str] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        self.id = self.id or self.name

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> str:
        return "broken" if self.broken else "skipped" if self.skipped else "ok"

    def as_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["status"] = self.status
        return d


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
            raise UnknownNameError(f"plugin {name!r} is installed but broken: {info.error} "
                                   "(see 'almost plugins --verbose')")
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


def _core_requirement(dist: Any) -> str | None:
    """The ``almost-core`` requirement string of a distribution's metadata, if any."""
    for req in dist.requires or []:
        name = re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0]
        if name.lower().replace("_", "-") == "almost-core":
            return req
    return None


def _check_core_requirement(info: PluginInfo) -> None:
    """Raise if the installed almost-core does not satisfy the plugin's declared bound."""
    if not info.requires_core:
        return
    try:
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:  # pragma: no cover - packaging is a dependency of almost-core
        return
    req = Requirement(info.requires_core)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return
    core = importlib.metadata.version("almost-core")
    if req.specifier and not req.specifier.contains(Version(core), prereleases=True):
        raise ImportError(
            f"{info.distribution} {info.version} needs almost-core{req.specifier} but almost-core {core} is "
            f"installed; install a matching pair (pip install '{info.distribution}' 'almost-core{req.specifier}')"
        )


def _check_hook_api(info: PluginInfo, plugin: Any) -> None:
    wanted = getattr(plugin, "almost_hook_api", None)
    if wanted is not None and int(wanted) != HOOK_API:
        raise ImportError(
            f"plugin {info.id!r} was written for Almost hook API {wanted}, but almost-core "
            f"{importlib.metadata.version('almost-core')} provides hook API {HOOK_API}; "
            "install versions of the two that match"
        )


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
    candidates: list[tuple[PluginInfo, Any]] = []
    for ep in sorted(entry_points, key=lambda e: e.name):
        info = PluginInfo(name=ep.name, value=ep.value)
        dist = getattr(ep, "dist", None)
        if dist is not None:
            info.distribution, info.version = dist.metadata["Name"], dist.version
            info.requires_core = _core_requirement(dist)
        candidates.append((info, ep.load))
    for name, obj in (extra or {}).items():
        candidates.append((PluginInfo(name=name, value=repr(obj)), lambda o=obj: o))

    # identity: (distribution, name). A name shared by several distributions gets dist:name ids.
    counts = Counter(info.name for info, _ in candidates)
    for info, _ in candidates:
        if counts[info.name] > 1:
            info.id = f"{info.distribution or 'extra'}:{info.name}"
            others = [o.distribution or "(not installed)" for o, _ in candidates
                      if o.name == info.name and o is not info]
            info.warnings.append(
                f"entry-point name {info.name!r} is also used by {', '.join(others)}; both are loaded, "
                f"this one as {info.id!r} (rename one entry point to tell them apart)"
            )
        n = 2
        while info.id in plugins:  # the same name twice in one distribution, or in `extra`
            info.id = f"{info.name}#{n}"
            n += 1
        plugins[info.id] = info

    for info, loader in candidates:
        keys = {info.name, info.id, info.distribution}
        if allow is not None and not keys & allow:
            info.skipped = "not in ALMOST_PLUGINS"
            continue
        if keys & deny:
            info.skipped = "listed in ALMOST_DISABLE_PLUGINS"
            continue
        _register_one(pm, registry, pipelines, info, loader)
    registry.plugin_distributions = {
        i.id: i.distribution for i in plugins.values() if i.distribution and not i.broken and not i.skipped
    }
    return App(pm=pm, registry=registry, pipelines=pipelines, plugins=plugins)


def _register_one(pm, registry, pipelines, info: PluginInfo, loader) -> None:
    pid = info.id
    new_pipelines: dict[str, Pipeline] = {}
    try:
        _check_core_requirement(info)
        plugin = loader()
        _check_hook_api(info, plugin)
        if pm.is_registered(plugin):
            raise ValueError(f"the same plugin object is already loaded as {pm.get_name(plugin)!r}")
        pm.register(plugin, name=pid)
        pm.check_pending()
        info.hooks = sorted(h.name for h in (pm.get_hookcallers(plugin) or []))
        others = [p for p in pm.get_plugins() if p is not plugin]
        registry._owner, registry._owner_dist = pid, info.distribution
        pm.subset_hook_caller("almost_register", remove_plugins=others)(registry=registry)

        def register(p: Pipeline) -> None:
            if not isinstance(p, Pipeline):
                raise TypeError(f"almost_pipelines must register Pipeline objects, not {type(p).__name__}")
            if p.name in pipelines or p.name in new_pipelines:
                owner = pipelines[p.name].plugin if p.name in pipelines else pid
                raise ValueError(f"pipeline {p.name!r} is already registered by plugin {owner!r}")
            p.plugin = pid
            new_pipelines[p.name] = p

        pm.subset_hook_caller("almost_pipelines", remove_plugins=others)(register=register)
    except Exception as e:  # a broken plugin must never take the others down
        info.error = _short_error(e)
        info.traceback = "".join(traceback.format_exception(e))
        registry.remove_plugin(pid)
        if pm.has_plugin(pid):
            pm.unregister(name=pid)
        return
    finally:
        registry._owner = registry._owner_dist = None
    pipelines.update(new_pipelines)
    info.pipelines = sorted(new_pipelines)
    info.components = [c.key for c in registry.by_plugin(pid)]


@functools.cache
def get_app() -> App:
    """The App for this process (loaded once)."""
    return load()
