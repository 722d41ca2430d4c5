"""Components by kind and name: ``reward/compressibility``, ``env/vizdoom-basic``, ...

Plugins add factories in their ``almost_register(registry)`` hook; pipelines look them up by
name from the run's config. An unknown name is a :class:`~almost.errors.UnknownNameError`
whose message lists the names that are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .errors import UnknownNameError, known_list
from .protocols import PROTOCOLS


@attrs.frozen
class Component:
    """One registered factory. ``create(**kwargs)`` builds an instance."""

    kind: str
    name: str
    factory: Callable[..., Any]
    help: str = ""
    plugin: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

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

    # -- adding -------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        help: str = "",
    ) -> Component:
        """Register ``factory`` as ``kind/name``. Names are unique across all plugins."""
        if kind not in PROTOCOLS:
            raise ValueError(f"unknown component kind {kind!r}; kinds are {known_list(PROTOCOLS)}")
        if not name or "/" in name or name != name.strip():
            raise ValueError(f"component name {name!r} must be non-empty and contain no '/'")
        if not callable(factory):
            raise TypeError(f"factory for {kind}/{name} is not callable")
        key = (kind, name)
        if key in self._items:
            other = self._items[key].plugin
            raise ValueError(f"{kind}/{name} is already registered by plugin {other!r}")
        comp = Component(kind=kind, name=name, factory=factory, help=help, plugin=self._owner)
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
        """Build the component ``key`` with ``kwargs``."""
        return self.get(key, kind).create(**kwargs)

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
