"""Config sections of the model half: encode, the world model, train, decoder, rollout.

Owned by the model stages. Each section has ``tiny()`` (a 2-core CPU in minutes) and
``full()`` (GameNGen's settings on a GPU: SD 1.x weights, 320×256 frames, context 64).
"""

from __future__ import annotations

import attrs

from almost.config import choice, field


@attrs.define
class EncodeConfig:
    # 'fit' stays the default until the shipped VAE beats it where it counts: with 'shipped' the
    # tiny run measured +0.95 dB / sensitivity 0.47 (goals 1 / 0.5) against +1.02 / 0.67 with
    # 'fit', for ~3 min less encode time (benchmarks/README.md, issue 26)
    vae: str = field(
        "fit",
        help="the frame autoencoder when model.pretrained is empty: 'fit' = a small VAE fitted "
        "on this run's frames (encode.vae_*); 'shipped' = the pretrained tiny VAE inside the "
        "package for the frame sizes it was trained at (48×64, ViZDoom; "
        "benchmarks/train_tiny_vae.py; encode-only, ~3 min faster), fitted like 'fit' for other "
        "sizes; or a diffusers AutoencoderKL folder",
    )
    vae_block_out_channels: list[int] = field(
        factory=lambda: [16, 32, 32],
        help="tiny VAE built from scratch when model.pretrained is empty: channels per level "
        "(each level after the first halves the frame size)",
    )
    vae_fit_steps: int = field(
        400, ge=0, help="optimizer steps to fit the from-scratch VAE on the frames (0: keep it random)"
    )
    vae_fit_batch_size: int = field(16, ge=1, help="frames per step while fitting the from-scratch VAE")
    vae_fit_lr: float = field(2e-3, gt=0, help="learning rate while fitting the from-scratch VAE")
    vae_kl_weight: float = field(1e-6, ge=0, help="weight of the KL term while fitting the VAE")
    batch_size: int = field(32, ge=1, help="frames per VAE encoder call")
    shard_frames: int = field(4096, ge=1, help="about how many frames go into one latent shard")
    dtype: str = choice("float16", "float16", "float32", help="dtype of the stored latents")

    @classmethod
    def tiny(cls) -> EncodeConfig:
        # 'fit' only (a game with no shipped VAE): the VAE's ceiling bounds the gain over
        # copy-through-VAE (400 steps: ceiling only +1.2 dB above it), so fit longer
        return cls(vae_fit_steps=800)

    @classmethod
    def full(cls) -> EncodeConfig:
        return cls(vae_fit_steps=0, batch_size=64, shard_frames=8192)


@attrs.define
class ModelConfig:
    pretrained: str = field(
        "",
        help="local Stable Diffusion 1.x diffusers folder (unet/, vae/, model_index.json); "
        "empty: build small UNet/VAE configs from scratch",
    )
    context: int = field(4, ge=1, help="past frames (and actions) the model conditions on")
    block_out_channels: list[int] = field(
        factory=lambda: [32, 64], help="UNet channels per level (from-scratch UNet only)"
    )
    cross_attention_levels: list[bool] = field(
        factory=lambda: [False, True],
        help="per UNet level: cross-attention to the action tokens (self-attention over many "
        "positions dominates CPU cost, so the tiny UNet attends only at its coarsest level)",
    )
    layers_per_block: int = field(1, ge=1, help="resnet layers per UNet level (from-scratch UNet only)")
    attention_head_dim: int = field(8, ge=1, help="channels per attention head (from-scratch UNet)")
    action_dim: int = field(
        64, ge=1, help="width of the action tokens (= UNet cross_attention_dim; SD 1.x forces 768)"
    )
    context_noise_max: float = field(
        0.7, ge=0, help="largest σ of the Gaussian noise added to the context latents in training"
    )
    context_noise_buckets: int = field(
        10, ge=1, help="the noise σ is discretised into this many buckets; the bucket is embedded"
    )
    cfg_drop_prob: float = field(
        0.1, ge=0, le=1, help="probability of dropping the whole context in training (classifier-free guidance)"
    )
    action_drop_prob: float = field(
        0.0, ge=0, lt=1, help="probability of hiding the action that leads to the predicted frame in "
        "training, so that rollout.action_guidance can push frames further the way the action moves them"
    )
    predict_delta: bool = field(
        False, help="diffuse the change from the last context latent instead of the frame itself "
        "(copying costs the model nothing, so it spends its capacity on what the action changes)"
    )
    delta_scale: float = field(
        1.0, gt=0, help="the change is multiplied by this before diffusion (about 1/its std)"
    )
    action_time_cond: bool = field(
        False, help="also add the last action's token to the timestep embedding, so every "
        "resnet block sees it (from-scratch UNet only; SD 1.x keeps cross-attention alone)"
    )
    train_timesteps: int = field(1000, ge=2, help="diffusion timesteps (v-prediction, scaled-linear β)")

    @classmethod
    def tiny(cls) -> ModelConfig:
        return cls()

    @classmethod
    def full(cls) -> ModelConfig:
        return cls(pretrained="/path/to/sd15", context=64, action_dim=768)


@attrs.define
class TrainConfig:
    # tiny: 2500 with cosine decay (benchmarks/README.md, world-model study: with 1-step sampling
    # 1500 / 2000 / 2500 steps gained +0.89 / +0.98 / +1.02 dB over copy-through-VAE)
    steps: int = field(2500, ge=1, help="optimizer steps (training is step-based, not epochs)")
    batch_size: int = field(16, ge=1, help="windows per step and process")
    lr: float = field(1e-3, gt=0, help="AdamW learning rate")
    warmup_steps: int = field(50, ge=0, help="linear learning-rate warm-up steps")
    lr_schedule: str = choice(
        "cosine", "constant", "cosine", help="after the warm-up: constant, or cosine decay to 0 at "
        "the last step"
    )
    weight_decay: float = field(0.0, ge=0, help="AdamW weight decay")
    mixed_precision: str = choice(
        "no", "no", "fp16", "bf16", help="mixed precision (fp16 falls back to fp32 on CPU)"
    )
    gradient_accumulation_steps: int = field(1, ge=1, help="micro-batches per optimizer step")
    ema_decay: float = field(0.0, ge=0, lt=1, help="EMA of the weights (0: off); the EMA weights are saved")
    checkpoint_every: int = field(200, ge=1, help="save a resumable checkpoint every N steps")
    keep_checkpoints: int = field(2, ge=1, help="resumable checkpoints kept (older ones are deleted)")
    heldout_fraction: float = field(
        0.2, ge=0, lt=1, help="fraction of episodes held out of training (used by rollout's metrics)"
    )
    max_grad_norm: float = field(1.0, gt=0, help="gradient clipping norm")
    gradient_checkpointing: bool = field(
        False, help="recompute UNet activations in the backward pass (less memory, ~30% slower)"
    )
    log_every: int = field(
        25, ge=1, help="read the loss back (and check it is finite) every N steps; reading it "
        "every step would make a GPU wait"
    )
    num_workers: int = field(0, ge=0, help="DataLoader worker processes")
    dataset: str = field("gamengen-windows", component="dataset",
                         help="the training windows: a registered dataset built with root=LATENT STORE, "
                         "context=model.context, episodes=[training episode positions] (gamengen-windows: "
                         "windows over the encode stage's latents, or any plugin's)")
    trainer: str = field("gamengen-worldmodel", component="trainer",
                         help="what fits the world model: a registered trainer built with ctx, dataset, store, "
                         "split (gamengen-worldmodel: v-prediction diffusion, or any plugin's)")

    @classmethod
    def tiny(cls) -> TrainConfig:
        return cls()

    @classmethod
    def full(cls) -> TrainConfig:
        return cls(
            # GameNGen: batch 128 = 32 per GPU × 4 accumulated micro-batches on one GPU (with N
            # GPUs, lower gradient_accumulation_steps to 4/N to keep 128)
            steps=700_000, batch_size=32, gradient_accumulation_steps=4, lr=2e-5, warmup_steps=1000,
            lr_schedule="constant",
            mixed_precision="bf16", gradient_checkpointing=True,
            ema_decay=0.9999, checkpoint_every=5000, keep_checkpoints=3, heldout_fraction=0.05,
            num_workers=4,
        )


@attrs.define
class DecoderConfig:
    steps: int = field(150, ge=0, help="optimizer steps fine-tuning the VAE decoder (0: skip)")
    batch_size: int = field(16, ge=1, help="frames per step")
    lr: float = field(5e-4, gt=0, help="AdamW learning rate of the decoder")
    perceptual_weight: float = field(
        0.0, ge=0, help="weight of an LPIPS term (needs the lpips package and its weights locally)"
    )
    mixed_precision: str = choice("no", "no", "fp16", "bf16", help="mixed precision")

    @classmethod
    def tiny(cls) -> DecoderConfig:
        return cls()

    @classmethod
    def full(cls) -> DecoderConfig:
        return cls(steps=20_000, batch_size=32, lr=1e-5, mixed_precision="bf16")


@attrs.define
class RolloutConfig:
    # tiny: 1 (benchmarks/README.md: 1 / 2 / 4 / 8 steps gave +0.89 / +0.81 / +0.66 / +0.54 dB
    # over copy-through-VAE and sensitivity 0.64 / 0.56 / 0.53 / 0.51 on one tiny model: one step
    # is the model's best estimate, sharper samples from more steps cost PSNR at this size)
    ddim_steps: int = field(1, ge=1, help="DDIM sampling steps per generated frame")
    play_steps: int = field(
        0, ge=0, help="DDIM steps per frame in `almost gamengen play` (0: rollout.ddim_steps); when it "
        "differs, rollout scores the trained model at this setting too (psnr_db_play, sharpness_play)"
    )
    context_noise: float = field(
        0.0, ge=0, help="σ of the noise added to the context at inference (snapped to a trained bucket)"
    )
    guidance_scale: float = field(
        1.0, ge=0, help="classifier-free guidance over the context (1: off, no extra UNet call)"
    )
    action_guidance: float = field(
        1.0, ge=0, help="guidance towards the action's effect (1: off); needs a model trained with "
        "model.action_drop_prob > 0"
    )
    eval_frames: int = field(
        48, ge=1, help="held-out (context, next frame) pairs scored teacher-forced per model"
    )
    horizon: int = field(32, ge=1, help="frames generated autoregressively per GIF")
    episodes: int = field(2, ge=0, help="held-out episodes rolled out autoregressively (one GIF each)")
    seed_from: str = choice(
        "latents", "latents", "pixels", help="seed the context from stored latents or from pixels"
    )
    actions: str = choice(
        "recorded", "recorded", "random", help="drive the rollout with the episode's actions or random ones"
    )
    probe_states: int = field(
        12, ge=0, help="held-out states of the action-sensitivity probe (replayed in the real game)"
    )
    probe_horizon: int = field(
        8, ge=1, help="steps each constant action is played from a probe state, in the model and "
        "in the game"
    )
    gif_scale: int = field(3, ge=1, help="GIF pixel upscaling factor")
    fps: int = field(8, ge=1, help="GIF frames per second")
    sampler: str = field("gamengen-ddim", component="sampler",
                         help="how the world model samples a frame, in rollout, play and the worldmodel env: a "
                         "registered sampler built with model, scheduler_config, settings (gamengen-ddim, "
                         "gamengen-dpmsolver: DPM-Solver++ at the same steps, or any plugin's)")

    @classmethod
    def tiny(cls) -> RolloutConfig:
        # play: 2 DDIM steps (benchmarks/README.md, issue 26 sampler table: autoregressive
        # sharpness 0.09 vs 0.07 at 1 step, object PSNR the same within 0.03 dB, −0.14 dB
        # teacher-forced; 4 steps add little sharpness for half the FPS). The metrics keep 1
        # step, the model's best estimate, and score the play setting beside it.
        return cls(play_steps=2)

    @classmethod
    def full(cls) -> RolloutConfig:
        # GameNGen samples with classifier-free guidance 1.5 over the context (4 DDIM steps)
        return cls(ddim_steps=4, eval_frames=512, horizon=128, episodes=4, gif_scale=1, fps=20, guidance_scale=1.5,
                   probe_states=16, probe_horizon=16)
