"""The ddpo plugin: its reward components and its pipeline, through Almost's hooks."""

from __future__ import annotations

from almost import Pipeline, Stage, hookimpl


@hookimpl
def almost_register(registry):
    from .rewards import register

    register(registry)


@hookimpl
def almost_pipelines(register):
    from almost.registry import lazy_profiles  # the config module loads when a run needs it

    s = "almost_ddpo.stages"
    register(
        Pipeline(
            name="ddpo",
            help="RLHF for diffusion models: generate → score → reward → policy (DDPO LoRA) → export, in rounds",
            profiles=lazy_profiles("almost_ddpo.config:PROFILES"),
            rounds=True,
            stages=[
                Stage("pretrain", f"{s}.pretrain:run", "tiny: train a small text-to-image model; full: check model.path"),
                Stage("generate", f"{s}.generate:run", "sample images (with the last round's LoRA) + sidecar records"),
                Stage("score", f"{s}.score:run", "human feedback on a local page, or a scripted rater"),
                Stage("reward", f"{s}.reward:run", "train the latent CNN reward model on the scores"),
                Stage("policy", f"{s}.policy:run", "DDPO: fine-tune a UNet LoRA to maximise the reward"),
                Stage("export", f"{s}.export:run", "write the LoRA in diffusers/peft and kohya formats"),
            ],
        )
    )
