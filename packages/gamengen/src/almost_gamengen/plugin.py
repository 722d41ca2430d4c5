"""The gamengen plugin: registers its components and pipeline through Almost's hooks."""

from __future__ import annotations

from almost import Pipeline, Stage, hookimpl


@hookimpl
def almost_register(registry):
    from .components import register

    register(registry)


@hookimpl
def almost_pipelines(register):
    from .config import PROFILES

    register(
        Pipeline(
            name="gamengen",
            help="GameNGen-style neural game engine",
            profiles=PROFILES,
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
