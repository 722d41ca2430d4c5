"""Components that gamengen registers (envs, datasets), as lazy ``"module:attr"`` factories:
registering imports neither torch nor ViZDoom; each module loads when a run builds it."""

from __future__ import annotations


def register(registry) -> None:
    """Called from the plugin's ``almost_register`` hook."""
    from .data.scenarios import scenario_names  # the wheel's scenario files; imports nothing heavy

    for name in scenario_names():
        registry.add("env", f"vizdoom-{name}", "almost_gamengen.data.envs:VizdoomEnv", bind={"scenario": name},
                     help=f"ViZDoom '{name}' scenario, headless, GameNGen action set")
    registry.add(
        "dataset",
        "gamengen-episodes",
        "almost_gamengen.data.episodes:EpisodeStore",
        help="recorded episodes (parquet shards + manifest.json); root=FOLDER",
    )
    registry.add(
        "env",
        "worldmodel",
        "almost_gamengen.play.worldmodel_env:WorldModelEnv",
        help="a trained world model as a game; [env.options] run_dir=RUN (a finished gamengen run)",
    )
