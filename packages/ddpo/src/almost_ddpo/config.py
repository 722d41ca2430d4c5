"""The ddpo pipeline's config (attrs classes) and its ``tiny`` and ``full`` profiles.

``tiny`` trains a small text-conditioned diffusion model on procedural coloured shapes and runs
the whole loop on a 2-core CPU; ``full`` points at a local Stable Diffusion 1.x diffusers folder
on a 16 GB GPU (``--set model.path=/path/to/sd15``).
"""

from __future__ import annotations

from typing import Any

import attrs

from almost.config import choice, field

from .shapes import all_prompts


@attrs.define
class ModelConfig:
    path: str = field("", help="local SD 1.x diffusers folder; empty: the tiny model the pretrain stage trains")
    dtype: str = choice("float32", "float32", "float16", "bfloat16", help="weights dtype of the frozen parts")


@attrs.define
class PretrainConfig:
    image_size: int = field(32, help="pixels per side of the procedural shapes")
    dataset_size: int = field(4096, help="procedural images (colour × shape × position × size)")
    vae_steps: int = field(300, help="autoencoder training steps")
    vae_batch_size: int = field(16, help="images per autoencoder step")
    unet_steps: int = field(1000, help="text-conditioned UNet training steps")
    batch_size: int = field(32, help="images per UNet training step")
    lr: float = field(2e-3, help="AdamW learning rate (one-cycle schedule)")
    uncond_prob: float = field(0.1, help="prompt dropout, so classifier-free guidance works")
    seed: int = field(0, help="seed of the data and the weights")


@attrs.define
class GenerateConfig:
    prompts: list[str] = field(factory=all_prompts, help="prompts to sample (any list)")
    negative_prompt: str = field("", help="negative prompt (empty: unconditional)")
    images_per_prompt: int = field(8, help="images per prompt, seeds seed, seed+1, ...")
    height: int = field(0, help="image height in pixels (0: the model's default)")
    width: int = field(0, help="image width in pixels (0: the model's default)")
    steps: int = field(20, help="DDIM steps")
    guidance: float = field(3.0, help="classifier-free guidance scale")
    eta: float = field(1.0, help="DDIM eta (0 deterministic, 1 DDPM-like)")
    seed: int = field(1000, help="first seed; a new round adds 10000 so rounds differ")
    batch_size: int = field(16, help="images per UNet batch")
    lora: str = field("", help="a LoRA folder to sample with (empty: the previous round's export, if any)")


@attrs.define
class ScoreConfig:
    mode: str = choice("auto", "auto", "web", "import", help="auto: scripted rater; web: local page; import: scores.json")
    rater: str = field("shape-area", help="reward component the scripted rater follows (mode=auto)", component="reward")
    import_file: str = field("", help="a seed-format scores.json to import (mode=import, or extra in web)")
    host: str = field("127.0.0.1", help="address the scoring page binds")
    port: int = field(8765, help="port of the scoring page (0: any free port)")
    annotator: str = field("me", help="name recorded with each rating")


@attrs.define
class RewardModelConfig:
    loss: str = choice("mse", "mse", "bradley-terry", help="regression on scores, or pairwise Bradley–Terry")
    epochs: int = field(60, help="maximum training epochs")
    patience: int = field(10, help="stop after this many epochs without a better held-out loss")
    lr: float = field(3e-3, help="AdamW learning rate")
    batch_size: int = field(32, help="latents per step")
    holdout_fraction: float = field(0.2, help="share of scored images held out for early stopping")
    seed: int = field(0, help="seed of the split and the weights")


@attrs.define
class PolicyConfig:
    epochs: int = field(20, help="DDPO epochs (sample, then train)")
    prompts: list[str] = field(factory=list, help="training prompts (empty: generate.prompts)")
    samples_per_epoch: int = field(32, help="images sampled per epoch")
    sample_batch_size: int = field(16, help="images per sampling batch")
    train_batch_size: int = field(8, help="images per gradient step")
    steps: int = field(10, help="DDIM steps while sampling and training")
    guidance: float = field(3.0, help="classifier-free guidance scale")
    eta: float = field(1.0, help="DDIM eta (>0: the policy is stochastic)")
    timestep_fraction: float = field(0.5, help="share of the denoising steps trained on per sample")
    inner_epochs: int = field(1, help="passes over each epoch's samples")
    clip_range: float = field(1e-2, help="PPO ratio clip (tiny: wider, few epochs)")
    adv_clip_max: float = field(5.0, help="advantages are clipped to ±this")
    per_prompt_stats: bool = field(True, help="normalise rewards per prompt (running buffer) instead of per batch")
    stat_buffer: int = field(32, help="rewards kept per prompt for its statistics")
    stat_min_count: int = field(8, help="below this many rewards a prompt uses the batch statistics")
    lr: float = field(3e-3, help="AdamW learning rate of the LoRA")
    max_grad_norm: float = field(1.0, help="gradient clipping")
    lora_rank: int = field(8, help="LoRA rank")
    lora_alpha: float = field(8.0, help="LoRA alpha (scale = alpha / rank)")
    lora_targets: list[str] = field(
        factory=lambda: ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"], help="UNet modules with a LoRA"
    )
    mixed_precision: str = choice("no", "no", "fp16", "bf16", help="accelerate mixed precision (fp16 falls back on CPU)")
    gradient_checkpointing: bool = field(False, help="trade compute for memory in the UNet")
    checkpoint_every: int = field(4, help="save a resumable checkpoint every N epochs")
    eval_images_per_prompt: int = field(2, help="before/after images per prompt (fixed seeds)")
    eval_seed: int = field(424242, help="first seed of the before/after evaluation")
    seed: int = field(0, help="seed of sampling and training")


@attrs.define
class ExportConfig:
    kohya: bool = field(True, help="also write the kohya/WebUI file")


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
            negative_prompt="blurry, low quality", images_per_prompt=16, height=512, width=512,
            steps=50, guidance=7.5, eta=1.0, batch_size=4,
        ),
        score=ScoreConfig(mode="web"),
        reward_model=RewardModelConfig(epochs=200, patience=20, lr=1e-3, batch_size=16),
        policy=PolicyConfig(
            epochs=100, samples_per_epoch=64, sample_batch_size=8, train_batch_size=2, steps=50,
            guidance=5.0, eta=1.0, timestep_fraction=1.0, inner_epochs=1, clip_range=1e-4, adv_clip_max=5.0,
            lr=3e-4, lora_rank=4, lora_alpha=4.0, lora_targets=["to_q", "to_k", "to_v", "to_out.0"],
            mixed_precision="fp16", gradient_checkpointing=True, checkpoint_every=5, eval_images_per_prompt=4,
        ),
    )


PROFILES = {"tiny": tiny, "full": full}
