"""Config sections of the model half (filled in by the model stages)."""

from __future__ import annotations

import attrs


@attrs.define
class EncodeConfig:
    @classmethod
    def tiny(cls) -> EncodeConfig:
        return cls()

    @classmethod
    def full(cls) -> EncodeConfig:
        return cls()


@attrs.define
class ModelConfig:
    @classmethod
    def tiny(cls) -> ModelConfig:
        return cls()

    @classmethod
    def full(cls) -> ModelConfig:
        return cls()


@attrs.define
class TrainConfig:
    @classmethod
    def tiny(cls) -> TrainConfig:
        return cls()

    @classmethod
    def full(cls) -> TrainConfig:
        return cls()


@attrs.define
class DecoderConfig:
    @classmethod
    def tiny(cls) -> DecoderConfig:
        return cls()

    @classmethod
    def full(cls) -> DecoderConfig:
        return cls()


@attrs.define
class RolloutConfig:
    @classmethod
    def tiny(cls) -> RolloutConfig:
        return cls()

    @classmethod
    def full(cls) -> RolloutConfig:
        return cls()
