"""Components that gamengen registers (envs, datasets, samplers, a trainer), as lazy ``"module:attr"`` factories:
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
    registry.add("dataset", "gamengen-windows", "almost_gamengen.model.latents:windows",
                 help="training windows (context latents, actions, mask, target) over a latent store; "
                 "root=LATENT STORE, context=N, episodes=[positions]")
    registry.add("sampler", "gamengen-ddim", "almost_gamengen.model.sampling:ddim",
                 help="the world model sampled with DDIM (η = 0); model=, scheduler_config=, settings=")
    registry.add("sampler", "gamengen-dpmsolver", "almost_gamengen.model.sampling:dpmsolver",
                 help="the world model sampled with DPM-Solver++ 2M (diffusers); model=, scheduler_config=, settings=")
    registry.add("trainer", "gamengen-worldmodel", "almost_gamengen.stages.train:WorldModelTrainer",
                 help="fits the action-conditioned diffusion UNet (v-prediction); ctx=, dataset=, store=, split=")
    registry.add(
        "env",
        "worldmodel",
        "almost_gamengen.play.worldmodel_env:WorldModelEnv",
        help="a trained world model as a game; [env.options] run_dir=RUN (a finished gamengen run)",
    )


def registry_of(ctx):
    """The registry a stage builds its components from: the run's, or, for a context made
    without one (a test, a script), the installed plugins'."""
    if ctx.registry is not None:
        return ctx.registry
    from almost.plugins import get_app

    return get_app().registry
