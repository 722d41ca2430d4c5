"""Config sections of the data half (filled in by the data stages)."""

from __future__ import annotations

import attrs

from almost.config import field


@attrs.define
class EnvConfig:
    name: str = field("vizdoom-basic", help="registered env component (env/NAME)")

    @classmethod
    def tiny(cls) -> EnvConfig:
        return cls()

    @classmethod
    def full(cls) -> EnvConfig:
        return cls()


@attrs.define
class AgentConfig:
    @classmethod
    def tiny(cls) -> AgentConfig:
        return cls()

    @classmethod
    def full(cls) -> AgentConfig:
        return cls()


@attrs.define
class CollectConfig:
    @classmethod
    def tiny(cls) -> CollectConfig:
        return cls()

    @classmethod
    def full(cls) -> CollectConfig:
        return cls()
