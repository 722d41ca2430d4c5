"""Components that gamengen registers (envs, datasets, samplers)."""

from __future__ import annotations


def register(registry) -> None:
    """Called from the plugin's ``almost_register`` hook."""
    from .envs import register_envs

    register_envs(registry)
