"""The plugin hooks of Almost.

A plugin is a module (or object) listed in the ``almost`` entry-point group::

    [project.entry-points.almost]
    mine = "almost_mine.plugin"

that implements some of these hooks with ``@almost.hookimpl``. Hooks are called with keyword
arguments, and an implementation may accept fewer arguments than the spec. The built-in
plugins (gamengen, ddpo, irgen) use exactly these hooks too.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("almost")
hookimpl = pluggy.HookimplMarker("almost")


@hookspec
def almost_register(registry):
    """Add components: ``registry.add("reward", "mine", factory, help="...")``."""


@hookspec
def almost_pipelines(register):
    """Add runnable pipelines: ``register(Pipeline(name=..., stages=[...], config=...))``."""


@hookspec
def almost_commands(cli):
    """Add CLI verbs to the ``almost`` click group: ``@cli.group() def mine(): ...``."""
