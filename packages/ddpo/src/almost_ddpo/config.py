"""The ddpo pipeline's config (attrs classes) and its ``tiny`` and ``full`` profiles.

``tiny`` trains a small text-conditioned diffusion model on procedural coloured shapes and runs
the whole loop on a 2-core CPU; ``full`` points at a local Stable Diffusion 1.x diffusers folder
on a 16 GB GPU (``--set model.path=/path/to/sd15``).
"""

from __future__ import annotations

from typing import Any

import attrs
from attrs.validators import and_, ge, gt, le, lt, optional

from almost.config import choice, field

from .shapes import all_prompts

_FRACTION = and_(ge(0.0), lt(1.0))


def _multiple_of_8(inst, attribute, value) -> None:  # the tiny model halves the picture 3 times
    if value % 8:
        raise ValueError(f"'{attribute.name}' must be a multiple of 8 (the model halves it three times): {value!r}")


def _some_prompts(inst, attribute, value) -> None:  # an empty list would make no picture at all
    if not value or not all(isinstance(p, str) and p.strip() for p in value):
        raise ValueError(f"'{attribute.name}' must be a list of at least one non-empty prompt: {value!r}")


@attrs.define
class ModelConfig:
    path: str = field("", help="local SD 1.x diffusers folder or single-file checkpoint (.safetensors/.ckpt); empty: the tiny model the pretrain stage trains")
    dtype: str = choice("float32", "float32", "float16", "bfloat16", help="weights dtype of the frozen parts")
    single_file_config: str = field("", help="diffusers component configs for a single-file model.path "
                                             "(empty: the SD 1.5 configs shipped with almost-ddpo)")


@attrs.define
class PretrainConfig:
    image_size: int = field(32, help="pixels per side of the procedural shapes", validator=[ge(8), _multiple_of_8])
    dataset_size: int = field(4096, help="procedural images (colour × shape × position × size)", validator=ge(1))
    vae_steps: int = field(300, help="autoencoder training steps", validator=ge(1))
    vae_batch_size: int = field(16, help="images per autoencoder step", validator=ge(1))
    unet_steps: int = field(1000, help="text-conditioned UNet training steps", validator=ge(1))
    batch_size: int = field(32, help="images per UNet training step", validator=ge(1))
    checkpoint_every: int = field(500, help="UNet steps between resumable checkpoints", validator=ge(1))
    lr: float = field(2e-3, help="AdamW learning rate (one-cycle schedule)", validator=gt(0.0))
    uncond_prob: float = field(0.1, help="prompt dropout, so classifier-free guidance works", validator=_FRACTION)
    seed: int = field(0, help="seed of the data and the weights")


@attrs.define
class GenerateConfig:
    prompts: list[str] = field(factory=all_prompts, help="prompts to sample (any list)", validator=_some_prompts)
    negative_prompt: str = field("", help="negative prompt (empty: unconditional)")
    images_per_prompt: int = field(8, help="images per prompt, seeds seed, seed+1, ...", validator=ge(1))
    height: int = field(0, help="image height in pixels (0: the model's default)", validator=ge(0))
    width: int = field(0, help="image width in pixels (0: the model's default)", validator=ge(0))
    sampler: str = field("ddpo-ddim", help="sampler/NAME that draws the images (ddpo-ddim: DDIM from each image's seed, "
                                           "or any plugin's)", component="sampler")
    steps: int = field(10, help="DDIM steps (the policy samples and trains with the same unless policy.steps is set)", validator=ge(1))
    guidance: float = field(3.0, help="classifier-free guidance scale (shared with the policy unless policy.guidance is set)", validator=ge(0.0))
    eta: float = field(1.0, help="DDIM eta (0 deterministic, 1 DDPM-like)", validator=ge(0.0))
    seed: int = field(1000, help="first seed; a new round adds 10000 so rounds differ")
    batch_size: int = field(16, help="images per UNet batch", validator=ge(1))
    lora: str = field("", help="a LoRA folder to sample with (empty: the previous round's export, if any)")


@attrs.define
class ScoreConfig:
    mode: str = choice("auto", "auto", "web", "import", help="auto: scripted rater; web: local page; import: scores.json")
    rater: str = field("shape-area", help="reward component the scripted rater follows (mode=auto)", component="reward")
    import_file: str = field("", help="a seed-format scores.json to import (mode=import, or extra in web)")
    host: str = field("127.0.0.1", help="address the scoring page binds")
    port: int = field(8765, help="port of the scoring page (0: any free port)", validator=and_(ge(0), le(65535)))
    annotator: str = field("me", help="name recorded with each rating")
    finish: bool = field(False, help="mark the stage done without opening the page (mode=web); otherwise press 'done' on the page")


@attrs.define
class RewardModelConfig:
    dataset: str = field("ddpo-ratings", help="dataset/NAME of labelled images the model learns from "
                                              "(ddpo-ratings: the run's ratings.jsonl, or any plugin's)", component="dataset")
    loss: str = choice("mse", "mse", "bradley-terry",
                       help="on absolute scores: regression (mse) or Bradley–Terry on every differently scored pair; "
                            "pairwise votes always add a Bradley–Terry term")
    pair_weight: float = field(1.0, help="weight of the Bradley–Terry term on the page's pairwise votes", validator=ge(0.0))
    epochs: int = field(60, help="maximum training epochs", validator=ge(1))
    patience: int = field(10, help="stop after this many epochs without a better validation loss", validator=ge(1))
    lr: float = field(3e-3, help="AdamW learning rate", validator=gt(0.0))
    batch_size: int = field(32, help="latents (and pairs) per step", validator=ge(1))
    val_fraction: float = field(0.15, help="share of labelled images that picks the best epoch (early stopping)",
                                validator=_FRACTION)
    holdout_fraction: float = field(0.15, help="share of labelled images held out for the reported metrics only",
                                    validator=_FRACTION)
    # defaults from benchmarks/study_ddpo_reward.py: on the tiny world the prompt embedding is the
    # big win (held-out correlation 0.18 → 0.97) and a grid only adds parameters to overfit
    pool: int = field(0, help="spatial grid the head sees beside the global average (the seed's 8×8: 8); "
                              "0: global average only", validator=ge(0))
    prompt_conditioned: bool = field(True, help="also feed the prompt's pooled text embedding to the head")
    width: int = field(32, help="channels of the first conv block (doubling per block)", validator=ge(8))
    depth: int = field(3, help="conv blocks", validator=ge(1))
    encode_batch_size: int = field(8, help="images per VAE encode batch (fp16 on a GPU; one at a time on a CPU)",
                                   validator=ge(1))
    seed: int = field(0, help="seed of the splits and the weights")


@attrs.define
class PolicyConfig:
    trainer: str = field("ddpo", help="trainer/NAME that fine-tunes the LoRA: ddpo (PPO on the reward), ddpo-d3po "
                                      "(DPO on the rated pairs, no reward model) or any plugin's", component="trainer")
    trainer_options: dict[str, Any] = field(factory=dict, help="the trainer's own keyword options, passed to its factory "
                                                               "(--set policy.trainer_options.KEY=VALUE), e.g. beta for ddpo-d3po")
    epochs: int = field(20, help="DDPO epochs (sample, then train)", validator=ge(0))
    prompts: list[str] = field(factory=list, help="training prompts (empty: generate.prompts)")
    samples_per_epoch: int = field(32, help="images sampled per epoch", validator=ge(1))
    sample_batch_size: int = field(16, help="images per sampling batch", validator=ge(1))
    train_batch_size: int = field(8, help="images per training batch", validator=ge(1))
    gradient_accumulation_steps: int = field(
        1, help="training batches per optimizer step (ddpo-pytorch: gradients of every trained timestep of "
                "this many batches are summed before one step)", validator=ge(1))
    steps: int | None = field(None, help="DDIM steps while sampling and training (none: generate.steps, so the reward model judges images like the ones it learned from)", validator=optional(ge(1)))
    guidance: float | None = field(None, help="classifier-free guidance scale (none: generate.guidance)", validator=optional(ge(0.0)))
    eta: float = field(1.0, help="DDIM eta (> 0: the policy must be stochastic for its log-probabilities)", validator=and_(gt(0.0), le(1.0)))
    timestep_fraction: float = field(0.5, help="share of the denoising steps trained on per sample", validator=and_(gt(0.0), le(1.0)))
    inner_epochs: int = field(1, help="passes over each epoch's samples", validator=ge(1))
    clip_range: float = field(1e-2, help="PPO ratio clip (tiny: wider, few epochs)", validator=gt(0.0))
    adv_clip_max: float = field(5.0, help="advantages are clipped to ±this", validator=gt(0.0))
    per_prompt_stats: bool = field(True, help="normalise rewards per prompt (running buffer) instead of per batch")
    stat_buffer: int = field(32, help="rewards kept per prompt for its statistics", validator=ge(1))
    stat_min_count: int = field(8, help="below this many rewards a prompt uses the batch statistics", validator=ge(1))
    lr: float = field(3e-3, help="AdamW learning rate of the LoRA", validator=gt(0.0))
    max_grad_norm: float = field(1.0, help="gradient clipping", validator=gt(0.0))
    lora_rank: int = field(8, help="LoRA rank", validator=ge(1))
    lora_alpha: float = field(8.0, help="LoRA alpha (scale = alpha / rank)", validator=gt(0.0))
    lora_targets: list[str] = field(
        factory=lambda: ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"], help="UNet modules with a LoRA"
    )
    mixed_precision: str = choice("no", "no", "fp16", "bf16", help="accelerate mixed precision (fp16 falls back on CPU)")
    gradient_checkpointing: bool = field(False, help="trade compute for memory in the UNet")
    checkpoint_every: int = field(4, help="save a resumable checkpoint every N epochs", validator=ge(1))
    eval_images_per_prompt: int = field(2, help="before/after images per prompt (fixed seeds)", validator=ge(1))
    eval_seed: int = field(424242, help="first seed of the before/after evaluation")
    seed: int = field(0, help="seed of the LoRA init, sampling and training")


@attrs.define
class ExportConfig:
    kohya: bool = field(True, help="also write the kohya/WebUI file")
    export_every: int = field(5, help="the policy also writes kohya ui_lora_epoch_NNN.safetensors every N epochs "
                                      "(a fallback when a late epoch exploits the reward); 0: only the final one",
                              validator=ge(0))


@attrs.define
class DdpoConfig:
    reward: str = field("human", help="reward/NAME the policy maximises: human (the trained CNN), compressibility, ... or any plugin's", component="reward")
    reward_options: dict[str, Any] = field(factory=dict, help="the reward's own keyword options, passed to its factory ([reward_options] in a --config file, --set reward_options.KEY=VALUE), e.g. quality for compressibility")
    model: ModelConfig = field(factory=ModelConfig, help="the diffusion model")
    pretrain: PretrainConfig = field(factory=PretrainConfig, help="tiny model training")
    generate: GenerateConfig = field(factory=GenerateConfig, help="sampling for feedback")
    score: ScoreConfig = field(factory=ScoreConfig, help="human (or scripted) feedback")
    reward_model: RewardModelConfig = field(factory=RewardModelConfig, help="the latent CNN reward model")
    policy: PolicyConfig = field(factory=PolicyConfig, help="DDPO")
    export: ExportConfig = field(factory=ExportConfig, help="LoRA export")


def tiny() -> DdpoConfig:
    return DdpoConfig()


def full() -> DdpoConfig:
    return DdpoConfig(
        model=ModelConfig(path="", dtype="float16"),
        generate=GenerateConfig(
            prompts=["a photo of a cat", "a photo of a dog", "a watercolor landscape", "a portrait of a woman"],
            negative_prompt="blurry, low quality", images_per_prompt=64, height=512, width=512,
            steps=50, guidance=5.0, eta=1.0, batch_size=4,  # ddpo-pytorch's sampler, shared with policy
        ),
        score=ScoreConfig(mode="web"),
        # the seed's 8×8 layout for real pictures, where composition matters (unmeasured on people's labels)
        reward_model=RewardModelConfig(epochs=200, patience=20, lr=1e-3, batch_size=16, pool=8, encode_batch_size=4),
        policy=PolicyConfig(
            epochs=100, samples_per_epoch=64, sample_batch_size=8, train_batch_size=2,
            gradient_accumulation_steps=8, eta=1.0, timestep_fraction=1.0, inner_epochs=1, clip_range=1e-4, adv_clip_max=5.0,
            lr=3e-4, lora_rank=4, lora_alpha=4.0, lora_targets=["to_q", "to_k", "to_v", "to_out.0"],
            mixed_precision="fp16", gradient_checkpointing=True, checkpoint_every=5, eval_images_per_prompt=4,
        ),
        export=ExportConfig(export_every=10),
    )


PROFILES = {"tiny": tiny, "full": full}
