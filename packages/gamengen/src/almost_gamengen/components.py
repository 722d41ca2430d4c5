"""Components that gamengen registers (envs, datasets, samplers)."""

from __future__ import annotations


def register(registry) -> None:
    """Called from the plugin's ``almost_register`` hook."""
    from .envs import register_envs

    register_envs(registry)
    registry.add(
        "dataset",
        "gamengen-episodes",
        _episode_store,
        help="recorded episodes (parquet shards + manifest.json); root=FOLDER",
    )
    registry.add(
        "env",
        "worldmodel",
        _worldmodel,
        help="a trained world model as a game; run_dir=RUN (see almost gamengen play)",
    )


def _worldmodel(run_dir, **kwargs):
    from .worldmodel_env import WorldModelEnv

    return WorldModelEnv(run_dir, **kwargs)


def _episode_store(root):
    from .episodes import EpisodeStore

    return EpisodeStore(root)
