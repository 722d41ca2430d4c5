"""The config of this plugin's pipeline: attrs classes, one per section, with help and bounds.

`almost config --plugin plugname` prints it with the help as comments; `--set play.episodes=8`
changes a value and a wrong type or an out-of-range number is refused before anything runs.
"""

import attrs

from almost.config import field


@attrs.define
class PlaySection:
    episodes: int = field(6, ge=1, help="episodes of the catch game to play")
    size: int = field(8, ge=3, help="board size (cells)")
    follow: float = field(0.8, ge=0, le=1, help="chance the policy steps toward the ball (else it moves at random)")
    sampler: str = field("plugname-follow", component="sampler", help="sampler/NAME that plays the episodes")


@attrs.define
class LearnSection:
    trainer: str = field("plugname-reinforce", component="trainer", help="trainer/NAME that learns the policy")
    updates: int = field(40, ge=1, help="policy updates")


@attrs.define
class Config:
    seed: int = field(0, help="seed of the games and of the policy")
    play: PlaySection = attrs.field(factory=PlaySection)
    learn: LearnSection = attrs.field(factory=LearnSection)


def tiny() -> Config:
    """Runs in seconds on a laptop: the default profile."""
    return Config()


def full() -> Config:
    return Config(play=PlaySection(episodes=200, size=12), learn=LearnSection(updates=400))
