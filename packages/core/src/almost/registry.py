"""Components by kind and name: ``reward/compressibility``, ``env/vizdoom-basic``, ...

Plugins add factories in their ``almost_register(registry)`` hook; pipelines look them up by
name from the run's config. A factory may be given lazily as a ``"package.module:attr"``
string: the module is imported only when the component is first built, so listing plugins
(``almost --help``, ``almost plugins``) never imports torch or a game engine::

    registry.add("reward", "sharpness", "almost_mine.reward:Sharpness", help="prefers sharp images")

Each component takes keyword options from its config section's ``options`` table
(``[env.options]``, ``[reward.options]``, ...): :meth:`Registry.build` checks them against
the factory's signature and says which ones exist. An unknown name is a
:class:`~almost.errors.UnknownNameError` whose message lists the names that are known.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from .errors import ConfigError, UnknownNameError, UserError, known_list
from .protocols import PROTOCOLS


class ComponentImportError(UserError):
    """A lazily registered component whose module or attribute cannot be loaded."""


def resolve_target(target: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{target!r} must look like 'package.module:attr'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def lazy_profiles(target: str, names: Iterable[str] = ("tiny", "full")) -> dict[str, Callable[[], Any]]:
    """Profiles for :class:`almost.Pipeline` whose config module is imported only when a
    profile is built: ``profiles=lazy_profiles("almost_mine.config:PROFILES")``, where
    ``PROFILES`` maps each of ``names`` to a callable returning the config."""

    def make(name: str) -> Callable[[], Any]:
        def build() -> Any:
            return resolve_target(target)[name]()

        build.__name__ = f"{name}_profile"
        return build

    return {n: make(n) for n in names}


@attrs.define(eq=False)
class Component:
    """One registered factory. ``create(**kwargs)`` builds an instance.

    ``target`` is the factory itself or a ``"module:attr"`` string resolved on first use;
    ``plugin`` and ``distribution`` say who registered it.
    """

    kind: str
    name: str
    target: Callable[..., Any] | str
    help: str = ""
    plugin: str | None = None
    distribution: str | None = None
    bind: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    _factory: Callable[..., Any] | None = attrs.field(default=None, repr=False, alias="_factory")
    used: bool = attrs.field(default=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def lazy(self) -> bool:
        return isinstance(self.target, str)

    @property
    def loaded(self) -> bool:
        """False for a lazy component whose module has not been imported yet."""
        return self._factory is not None or not self.lazy

    @property
    def factory(self) -> Callable[..., Any]:
        """The factory (importing its module now if it was registered lazily)."""
        self.used = True
        if self._factory is None:
            if not isinstance(self.target, str):
                self._factory = self.target
            else:
                who = f" (plugin {self.plugin!r})" if self.plugin else ""
                try:
                    obj = resolve_target(self.target)
                except Exception as e:
                    raise ComponentImportError(
                        f"{self.key}{who} cannot be loaded from {self.target!r}: {type(e).__name__}: {e}"
                    ) from e
                if not callable(obj):
                    raise ComponentImportError(f"{self.key}{who}: {self.target!r} is not callable")
                self._factory = obj
            if self.bind:
                self._factory = functools.partial(self._factory, **self.bind)
        return self._factory

    def options(self) -> dict[str, Any]:
        """The factory's keyword options and their defaults (``inspect.Parameter.empty`` when
        required); ``{"**": ...}`` marks a factory that takes any keyword."""
        try:
            params = inspect.signature(self.factory).parameters.values()
        except (TypeError, ValueError):
            return {"**": inspect.Parameter.empty}
        out: dict[str, Any] = {}
        for p in params:
            if p.name in self.bind:
                continue
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                out[p.name] = p.default
            elif p.kind == p.VAR_KEYWORD:
                out["**"] = inspect.Parameter.empty
        return out

    def create(self, **kwargs: Any) -> Any:
        return self.factory(**kwargs)


class Registry:
    """A table of component factories, keyed by ``(kind, name)``.

    ``kind`` is one of :data:`almost.protocols.PROTOCOLS` (``env``, ``dataset``, ``sampler``,
    ``reward``, ``trainer``).
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Component] = {}
        self._owner: str | None = None
        self._owner_dist: str | None = None
        self.plugin_distributions: dict[str, str] = {}  # plugin id -> distribution (set by load())

    # -- adding -------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        help: str = "",
        bind: Mapping[str, Any] | None = None,
    ) -> Component:
        """Register ``factory`` as ``kind/name``. Names are unique across all plugins.

        ``factory`` is a callable or, better, a ``"package.module:attr"`` string that is
        imported only when the component is built. ``bind`` fixes keyword arguments (one
        factory serving several components, e.g. ``bind={"scenario": "basic"}``); they are
        not options a config can change."""
        if kind not in PROTOCOLS:
            raise ValueError(f"unknown component kind {kind!r}; kinds are {known_list(PROTOCOLS)}")
        if not name or "/" in name or name != name.strip():
            raise ValueError(f"component name {name!r} must be non-empty and contain no '/'")
        if isinstance(factory, str):
            module, sep, attr = factory.partition(":")
            if not sep or not module or not attr:
                raise ValueError(f"factory for {kind}/{name} must be a callable or 'package.module:attr', "
                                 f"not {factory!r}")
        elif not callable(factory):
            raise TypeError(f"factory for {kind}/{name} is not callable")
        key = (kind, name)
        if key in self._items:
            other = self._items[key]
            by = f"plugin {other.plugin!r}" + (f" of {other.distribution}" if other.distribution else "")
            raise ValueError(f"{kind}/{name} is already registered by {by}")
        comp = Component(kind=kind, name=name, target=factory, help=help, plugin=self._owner,
                         distribution=self._owner_dist, bind=dict(bind or {}))
        self._items[key] = comp
        return comp

    def remove_plugin(self, plugin: str) -> None:
        """Forget every component that ``plugin`` registered (used when a plugin breaks)."""
        for key in [k for k, c in self._items.items() if c.plugin == plugin]:
            del self._items[key]

    # -- looking up ---------------------------------------------------------------------
    @staticmethod
    def split(key: str, kind: str | None = None) -> tuple[str, str]:
        """``"reward/x"`` → ``("reward", "x")``; ``"x"`` with ``kind="reward"`` too."""
        if "/" in key:
            k, _, n = key.partition("/")
            if kind is not None and k != kind:
                raise UnknownNameError(f"{key!r} is a {k!r} component, but a {kind!r} one is needed")
            return k, n
        if kind is None:
            raise UnknownNameError(f"component {key!r} needs a kind, e.g. 'reward/{key}'")
        return kind, key

    def get(self, key: str, kind: str | None = None) -> Component:
        """Look up ``kind/name`` (or ``name`` with ``kind=``); unknown names list known ones."""
        k, n = self.split(key, kind)
        if k not in PROTOCOLS:
            raise UnknownNameError(f"unknown component kind {k!r}; kinds are {known_list(PROTOCOLS)}")
        try:
            return self._items[(k, n)]
        except KeyError:
            raise UnknownNameError(
                f"unknown {k} component {n!r}; known {k} components: {known_list(self.names(k))}"
                " (is the plugin that provides it installed? see 'almost plugins')"
            ) from None

    def create(self, key: str, kind: str | None = None, **kwargs: Any) -> Any:
        """Build the component ``key`` with ``kwargs``; a component whose factory does not take
        what the caller gives (e.g. a sampler made for another pipeline's stage) is one sentence."""
        comp = self.get(key, kind)
        _check_accepts(comp, kwargs)
        return comp.create(**kwargs)

    def check_options(self, key: str, options: Mapping[str, Any], kind: str | None = None,
                      where: str | None = None, provided: tuple[str, ...] = ()) -> Component:
        """Check ``options`` against the factory's keywords: an unknown one, or a required one
        missing (not in ``options`` nor ``provided``), is a ConfigError naming the config key
        (``where``, e.g. ``env.options``) and the options that exist."""
        comp = self.get(key, kind)
        accepted = comp.options()
        where = where or f"{comp.kind}.options"
        if "**" not in accepted:
            unknown = sorted(set(options) - set(accepted))
            if unknown:
                names = known_list(accepted) if accepted else "none"
                raise ConfigError(f"{where}.{unknown[0]} is not an option of {comp.key}; its options: {names}")
        missing = [n for n, d in accepted.items()
                   if d is inspect.Parameter.empty and n != "**" and n not in options and n not in provided]
        if missing:
            raise ConfigError(
                f"{comp.key} needs the option {missing[0]!r}: set it with --set {where}.{missing[0]}=VALUE "
                f"or under [{where}] in a --config file"
            )
        return comp

    def build(self, key: str, options: Mapping[str, Any] | None = None, kind: str | None = None,
              where: str | None = None, **fixed: Any) -> Any:
        """Build ``key`` from a config options table (checked) plus ``fixed`` keyword arguments
        that the pipeline supplies itself; ``options`` win over nothing, ``fixed`` over options."""
        options = dict(options or {})
        comp = self.check_options(key, options, kind, where, provided=tuple(fixed))
        _check_accepts(comp, fixed)
        return comp.create(**{**options, **fixed})

    def distributions_used(self, plugins: Iterable[str | None] = ()) -> dict[str, str]:
        """``{distribution: version}`` of the plugins named in ``plugins`` (e.g. the pipeline's)
        and of every component built so far: what a run's manifest records."""
        dists = {self.plugin_distributions.get(p) for p in plugins if p}
        dists |= {c.distribution for c in self._items.values() if c.used}
        out = {}
        for d in sorted(x for x in dists if x):
            try:
                out[d] = importlib.metadata.version(d)
            except importlib.metadata.PackageNotFoundError:
                out[d] = "unknown"
        return out

    def names(self, kind: str) -> list[str]:
        return sorted(n for (k, n) in self._items if k == kind)

    def by_plugin(self, plugin: str) -> list[Component]:
        return sorted((c for c in self._items.values() if c.plugin == plugin), key=lambda c: c.key)

    def __contains__(self, key: str) -> bool:
        k, _, n = key.partition("/")
        return (k, n) in self._items

    def __iter__(self) -> Iterator[Component]:
        return iter(sorted(self._items.values(), key=lambda c: c.key))

    def __len__(self) -> int:
        return len(self._items)


def _check_accepts(comp: Component, given: Mapping[str, Any]) -> None:
    """A ConfigError when ``comp``'s factory takes none of some keywords a stage passes it."""
    accepted = comp.options()
    if "**" in accepted:
        return
    extra = sorted(set(given) - set(accepted))
    if extra:
        raise ConfigError(
            f"{comp.key} cannot be used here: this stage builds it with {known_list(sorted(given))}, and it "
            f"takes {known_list(accepted) if accepted else 'no keywords'} (it is not made for this stage); "
            f"choose another {comp.kind} (see `almost components {comp.kind}`)")
