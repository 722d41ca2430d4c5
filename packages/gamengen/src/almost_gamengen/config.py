"""The gamengen config: one section per stage; profiles ``tiny``, ``small`` and ``full``.

``almost config --plugin gamengen [--profile full]`` prints it as TOML.
"""

from __future__ import annotations

import attrs

from almost.config import field

from .config_data import AgentConfig, CollectConfig, EnvConfig
from .config_model import DecoderConfig, EncodeConfig, ModelConfig, RolloutConfig, TrainConfig

SECTIONS = {
    "env": EnvConfig,
    "agent": AgentConfig,
    "collect": CollectConfig,
    "encode": EncodeConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "decoder": DecoderConfig,
    "rollout": RolloutConfig,
}


@attrs.define
class GamengenConfig:
    seed: int = field(0, help="seed for every random choice of the run")
    env: EnvConfig = attrs.field(factory=EnvConfig.tiny)
    agent: AgentConfig = attrs.field(factory=AgentConfig.tiny)
    collect: CollectConfig = attrs.field(factory=CollectConfig.tiny)
    encode: EncodeConfig = attrs.field(factory=EncodeConfig.tiny)
    model: ModelConfig = attrs.field(factory=ModelConfig.tiny)
    train: TrainConfig = attrs.field(factory=TrainConfig.tiny)
    decoder: DecoderConfig = attrs.field(factory=DecoderConfig.tiny)
    rollout: RolloutConfig = attrs.field(factory=RolloutConfig.tiny)


def tiny() -> GamengenConfig:
    """Runs end to end on a 2-core CPU in minutes."""
    return GamengenConfig(**{k: cls.tiny() for k, cls in SECTIONS.items()})


def small() -> GamengenConfig:
    """Between the two: ≤ 1 hour on 2 CPU cores, minutes on one GPU. More data from a longer-
    trained agent, a longer-trained and wider world model, more action-sensitivity probes.
    Targets (benchmarks/bench_gamengen_quality.py): beat copy-through-VAE by ≥ 2 dB with
    action sensitivity ≥ 0.8, and an agent that beats random by 2σ."""
    cfg = tiny()
    return attrs.evolve(
        cfg,
        agent=attrs.evolve(cfg.agent, total_steps=60_000, n_steps=256, batch_size=128,
                           n_epochs=4, learning_rate=5e-4, checkpoint_every=10_000, eval_episodes=50,
                           record_frames=16_384),
        collect=attrs.evolve(cfg.collect, episodes=600),
        encode=attrs.evolve(cfg.encode, vae_fit_steps=1500, vae_fit_batch_size=32),
        model=attrs.evolve(cfg.model, block_out_channels=[48, 96], layers_per_block=2, context=6),
        # constant rate + EMA: how the measured small model was trained (tiny's cosine was not
        # measured at this size)
        train=attrs.evolve(cfg.train, steps=6000, batch_size=32, warmup_steps=200, lr_schedule="constant",
                           checkpoint_every=1000, ema_decay=0.999, heldout_fraction=0.1),
        decoder=attrs.evolve(cfg.decoder, steps=1000),
        # one DDIM step with context guidance 1.3 (benchmarks/README.md, small sampler study:
        # +2.40 dB, sensitivity 0.92; 4 steps without guidance: +2.18 dB, 0.68)
        rollout=attrs.evolve(cfg.rollout, eval_frames=256, episodes=4, probe_states=16, guidance_scale=1.3),
    )


def full() -> GamengenConfig:
    """The GameNGen settings for a GPU (320×256 frames, context 64, SD 1.x weights)."""
    return GamengenConfig(**{k: cls.full() for k, cls in SECTIONS.items()})


PROFILES = {"tiny": tiny, "small": small, "full": full}
