"""The gamengen plugin: registers its components and pipeline through Almost's hooks."""

from __future__ import annotations

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
        from .play.server import serve
        from .play.session import play_device, size_threads

        device = play_device(device)
        size_threads(device)
        try:
            sessions = play_sessions(run_dir, steps=steps, noise_level=noise_level, game=not no_game, device=device)
        except ValueError as e:  # an option outside what the model was trained for
            from almost.errors import UserError

            raise UserError(f"--noise-level {noise_level}: {e}") from None
        serve(sessions, run_dir_path(run_dir) / "play", host=host, port=port, max_fps=max_fps)


def run_dir_path(run_dir):
    from pathlib import Path

    from almost.errors import UserError

    p = Path(run_dir)
    if not (p / "config.toml").is_file():
        raise UserError(f"{p} is not a gamengen run directory (no config.toml); give the folder "
                        "that `almost run --plugin gamengen` wrote, e.g. runs/gamengen/tiny")
    return p


def play_sessions(run_dir, steps: int | None = None, noise_level: float = 0.0, game: bool = True,
                  device="cpu") -> dict:
    """Sessions for the play page: the world model of ``run_dir`` (on ``device``) and, if asked,
    its real game. The model samples with ``rollout.play_steps`` DDIM steps (the setting chosen
    for a person to look at, scored by rollout as ``psnr_db_play``/``sharpness_play``; when 0,
    ``rollout.ddim_steps``) unless ``steps`` is given, and with the rollout's guidance scale."""
    from almost.config import load_toml
    from almost.plugins import get_app

    from .data.make_env import env_spec
    from .play.session import EnvSession
    from .play.worldmodel_env import WorldModelEnv

    run = run_dir_path(run_dir)
    app = get_app()
    profile = load_toml(run / "config.toml").get("almost", {}).get("profile", "tiny")
    cfg = app.pipeline("gamengen").resolve_config(profile, run / "config.toml")
    model = WorldModelEnv(run, steps=steps or cfg.rollout.play_steps or cfg.rollout.ddim_steps, noise_level=noise_level,
                          guidance_scale=cfg.rollout.guidance_scale, device=device,
                          action_guidance=cfg.rollout.action_guidance)
    sessions = {"model": EnvSession("model", model)}
    if game:
        sessions["game"] = EnvSession("game", env_spec(app.registry, cfg.env).make())
    return sessions
