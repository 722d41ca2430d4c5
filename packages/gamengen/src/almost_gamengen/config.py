"""The gamengen config: one section per stage, each with ``tiny`` and ``full`` profiles.

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


def full() -> GamengenConfig:
    """The GameNGen settings for a GPU (320×256 frames, context 64, SD 1.x weights)."""
    return GamengenConfig(**{k: cls.full() for k, cls in SECTIONS.items()})


PROFILES = {"tiny": tiny, "full": full}
