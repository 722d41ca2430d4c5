"""The plugin hooks of Almost (reference with examples: docs/hooks.md).

A plugin is a module (or object) listed in the ``almost`` entry-point group::

    [project.entry-points.almost]
    mine = "almost_mine.plugin"

that implements some of these hooks with ``@almost.hookimpl``. Hooks are called with keyword
arguments, and an implementation may accept fewer arguments than the spec. The built-in
plugins use exactly these hooks too.

:data:`HOOK_API` is the version of this interface (the hooks, ``registry.add``, the
protocols, :mod:`almost.testing`, and the stage author's API listed in docs/stage-api.md:
``RunContext``, ``RunDir``, ``open_run``, checkpoints, atomic files, threads). It changes only
when one of them changes incompatibly, and then almost-core's major version changes with it: a plugin declares
``almost-core>=0.1,<1`` and may set ``almost_hook_api = 1`` in its plugin module.
"""

from __future__ import annotations

import pluggy

HOOK_API = 1
"""Version of the plugin interface; bumped (with almost-core's major version) on a breaking change."""

hookspec = pluggy.HookspecMarker("almost")
hookimpl = pluggy.HookimplMarker("almost")


@hookspec
def almost_register(registry):
    """Add components: ``registry.add("reward", "mine", "almost_mine.reward:Mine", help="...")``.

    ``registry`` is an :class:`almost.registry.Registry`; the factory is a ``"module:attr"``
    string (imported only when the component is built) or a callable. Returns nothing."""


@hookspec
def almost_pipelines(register):
    """Add runnable pipelines: ``register(Pipeline(name=..., stages=[...], profiles={...}))``.

    ``register`` takes one :class:`almost.Pipeline`; its ``profiles`` map a profile name
    (``tiny``, ``full``) to a callable that returns the config object. Returns nothing."""


@hookspec
def almost_commands(cli):
    """Add CLI verbs to the ``almost`` click group: ``@cli.group() def mine(): ...``.

    ``cli`` is the root :class:`click.Group`; import heavy libraries inside the command
    functions, not at module level. Returns nothing."""
