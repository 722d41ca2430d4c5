"""The gamengen plugin: registers its components and pipeline through Almost's hooks."""

from __future__ import annotations

import attrs

from almost import Pipeline, Stage, hookimpl


@hookimpl
def almost_register(registry):
    from .components import register

    register(registry)


@hookimpl
def almost_pipelines(register):
    from almost.registry import lazy_profiles  # the config module loads when a run needs it

    register(
        Pipeline(
            name="gamengen",
            help="GameNGen-style neural game engine",
            headline=("gain", "sensitivity", "return_mean", "return_random", "at_1", "after", "final", "heldout", "held_out", "eval", "psnr", "reward", "rate", "accuracy", "acc", "loss", "score", "lpips", "kl", "per_s"),
            profiles=lazy_profiles("almost_gamengen.config:PROFILES", ("tiny", "small", "full")),
            stages=[
                Stage("agent", "almost_gamengen.stages.agent:run", "train a PPO agent while recording episodes"),
                Stage("collect", "almost_gamengen.stages.collect:run", "record episodes with a policy, several processes"),
                Stage("encode", "almost_gamengen.stages.encode:run", "frames → VAE latents (safetensors shards)"),
                Stage("train", "almost_gamengen.stages.train:run", "train the action-conditioned diffusion UNet"),
                Stage("decoder", "almost_gamengen.stages.decoder:run", "fine-tune the VAE decoder on game frames"),
                Stage("rollout", "almost_gamengen.stages.rollout:run", "autoregressive rollouts: GIFs and PSNR/SSIM"),
            ],
        )
    )


@hookimpl
def almost_commands(cli):
    import click

    @cli.group()
    def gamengen():
        """GameNGen tools: play a trained world model."""

    @gamengen.command()
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep 127.0.0.1 "
                  "unless you mean to share the page on your network).")
    @click.option("--port", default=8765, show_default=True, help="Port of the page.")
    @click.option("--steps", default=None, type=click.IntRange(1, 50),
                  help="DDIM steps per generated frame (1-50; default: the run's rollout.play_steps).")
    @click.option("--noise-level", default=0.0, show_default=True, help="Context noise level (0..0.7).")
    @click.option("--max-fps", default=20.0, show_default=True, help="Cap on frames per second.")
    @click.option("--no-game", is_flag=True, help="Offer only the world model, not the real game.")
    @click.option("--device", default=None, help="Device of the world model (cpu, cuda, cuda:1, mps; "
                  "default: cuda when there is one, else cpu).")
    def play(run_dir, host, port, steps, noise_level, max_fps, no_game, device):
        """Play the world model of RUN_DIR in your browser (keyboard: WASD/arrows, space).

        The address printed carries a fresh secret token; only a browser with that link can play.
        """
        from almost import open_run

        from .play.server import serve
        from .play.session import play_device, size_threads

        run = open_run(run_dir, "gamengen")
        device = play_device(device)
        size_threads(device)
        try:
            sessions = play_sessions(run, steps=steps, noise_level=noise_level, game=not no_game, device=device)
        except ValueError as e:  # an option outside what the model was trained for
            from almost.errors import UserError

            raise UserError(f"--noise-level {noise_level}: {e}") from None
        serve(sessions, run.path / "play", host=host, port=port, max_fps=max_fps)


def play_sessions(run_dir, steps: int | None = None, noise_level: float = 0.0, game: bool = True,
                  device="cpu") -> dict:
    """Sessions for the play page: the world model of ``run_dir`` (a path or an opened run,
    :func:`almost.open_run`; on ``device``) and, if asked, its real game. The model samples with
    the run's own settings for play (:meth:`SampleSettings.of`: ``rollout.play_steps`` DDIM steps,
    the setting chosen for a person to look at, scored by rollout as
    ``psnr_db_play``/``sharpness_play``; when 0, ``rollout.ddim_steps``; the rollout's guidance)
    unless ``steps`` is given."""
    from almost import OpenedRun, open_run

    from .data.make_env import env_spec
    from .model.sampling import SampleSettings
    from .play.session import EnvSession
    from .play.worldmodel_env import WorldModelEnv

    run = run_dir if isinstance(run_dir, OpenedRun) else open_run(run_dir, "gamengen")
    sample = SampleSettings.of(run.config.rollout, play=True, steps=steps)
    model = WorldModelEnv(run.path, device=device, sample=attrs.evolve(sample, context_noise=float(noise_level)))
    sessions = {"model": EnvSession("model", model)}
    if game:
        from almost.plugins import get_app

        sessions["game"] = EnvSession("game", env_spec(get_app().registry, run.config.env).make())
    return sessions
