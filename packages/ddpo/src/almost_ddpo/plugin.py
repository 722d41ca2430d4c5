"""The ddpo plugin: its components (rewards, dataset, sampler, trainers) and its pipeline, through Almost's hooks."""

from __future__ import annotations

from almost import Pipeline, Stage, hookimpl


def register_components(registry) -> None:
    """Every component the ddpo pipeline ships: rewards, the ratings dataset, the DDIM sampler, the
    trainers. Lazy ``"module:attr"`` factories: listing plugins imports neither torch nor diffusers."""
    from .rewards import (
        register as register_rewards,  # the reward module imports nothing heavy at import
    )

    register_rewards(registry)
    registry.add("dataset", "ddpo-ratings", "almost_ddpo.datasets:RatingsDataset",
                 help="the run's ratings.jsonl: latest score per image and pairwise votes (reward stage, d3po)")
    registry.add("sampler", "ddpo-ddim", "almost_ddpo.sampling:DdimSampler",
                 help="DDIM from each image's own seed (the generate stage's default)")
    m = "almost_ddpo.trainers"
    registry.add("trainer", "ddpo", f"{m}.ddpo:DdpoTrainer",
                 help="DDPO (Black et al. 2023): PPO on the reward of sampled images (the policy stage's default)")
    registry.add("trainer", "ddpo-d3po", f"{m}.d3po:D3poTrainer",
                 help="D3PO (Yang et al. 2023): DPO on the denoising steps of preferred vs rejected images, "
                      "from the ratings directly (no reward model)")


@hookimpl
def almost_register(registry):
    register_components(registry)


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
            headline=("gain", "sensitivity", "return_mean", "return_random", "at_1", "after", "final", "heldout", "held_out", "eval", "psnr", "reward", "rate", "accuracy", "acc", "loss", "score", "lpips", "kl", "per_s"),
            stages=[
                Stage("pretrain", f"{s}.pretrain:run", "tiny: train a small text-to-image model; full: check model.path"),
                Stage("generate", f"{s}.generate:run", "sample images (with the last round's LoRA) + sidecar records"),
                Stage("score", f"{s}.score:run", "human feedback on a local page, or a scripted rater"),
                Stage("reward", f"{s}.reward:run", "train the latent CNN reward model on the scores"),
                Stage("policy", f"{s}.policy:run", "fine-tune a UNet LoRA with policy.trainer (DDPO on the reward by default)"),
                Stage("export", f"{s}.export:run", "write the LoRA in diffusers/peft and kohya formats"),
            ],
        )
    )


@hookimpl
def almost_commands(cli):
    import click

    @cli.group()
    def ddpo():
        """DDPO tools: import the seed's scores into a run, score any folder of images."""

    @ddpo.command(name="import")
    @click.argument("scores_json", type=click.Path(dir_okay=False))
    @click.option("--images", required=True, type=click.Path(file_okay=False),
                  help="Folder holding the images SCORES_JSON names (matched to the run's images by content).")
    @click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False),
                  help="The ddpo run directory whose ratings store receives the scores.")
    @click.option("--annotator", default="import", show_default=True, help="Name recorded with each rating.")
    def import_(scores_json, images, run_dir, annotator):
        """Merge a seed-format scores.json into RUN's ratings (one line per bad entry, then a summary).

        Exit status 0 when anything was merged, 2 when nothing could be."""
        from .labels import import_into_run

        import_into_run(scores_json, images, run_dir, annotator)

    @ddpo.command()
    @click.argument("images", type=click.Path(file_okay=False))
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to bind (keep 127.0.0.1 unless you mean to share the page).")
    @click.option("--port", default=8765, show_default=True, help="Port of the page (0: any free port).")
    @click.option("--annotator", default="me", show_default=True, help="Name recorded with each rating.")
    def score(images, host, port, annotator):
        """Score any folder of PNG images in the browser; ratings go to IMAGES/ratings.jsonl and
        IMAGES/scores.json (the seed's format)."""
        from .labels import score_folder

        score_folder(images, host, port, annotator)
