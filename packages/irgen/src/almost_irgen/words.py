"""How people say the parts of a request: numbers, names, keys, tags and directions.

The wording helpers that :mod:`almost_irgen.ops` (each op's phrasings) and
:mod:`almost_irgen.phrasing` (triggers, conditions and frames) share. Each takes the ``rng``
that picks among the ways, so a seed gives the same sentence.
"""

from __future__ import annotations

import random
import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split()
)
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0 … 999 in words ("three hundred sixty")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    rest = n % 100
    return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))


def say_number(v, rng: random.Random, words: float = 0.2) -> str:
    """A number as people write it: digits, or words for a small whole number."""
    if isinstance(v, str):
        return v
    if float(v).is_integer():
        v = int(v)
        if 0 <= v < 1000 and rng.random() < words:
            return number_words(v)
    return str(v)


def humanize(name: str) -> str:
    """``hitSound`` → ``hit sound``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()


def say_field(name: str, rng: random.Random) -> str:
    """A field's name as written, or in words ("the hit sound")."""
    return name if rng.random() < 0.6 else f"the {humanize(name)}"


KEY_SAYS = {
    "Space": ["space", "spacebar", "the space key", "the space bar", "Space"],
    "Return": ["enter", "return", "the enter key", "Return"],
    "Escape": ["escape", "esc", "the escape key"],
    "LeftShift": ["shift", "left shift", "the shift key"],
    "Mouse0": ["the left mouse button", "left click", "the mouse button"],
    "UpArrow": ["the up arrow", "up arrow", "the up arrow key"],
    "DownArrow": ["the down arrow", "down arrow", "the down arrow key"],
    "LeftArrow": ["the left arrow", "left arrow", "the left arrow key"],
    "RightArrow": ["the right arrow", "right arrow", "the right arrow key"],
}
TAG_SAYS = {
    "Player": ["the player", "the Player", "anything tagged Player", "an object tagged Player"],
    "Enemy": ["an enemy", "an Enemy", "anything tagged Enemy", "something with the Enemy tag"],
    "Bullet": ["a bullet", "a Bullet", "anything tagged Bullet", "an object tagged Bullet"],
    "Pickup": ["a pickup", "a Pickup", "anything tagged Pickup", "something with the Pickup tag"],
    "Ground": ["the ground", "the Ground", "anything tagged Ground", "an object tagged Ground"],
}


def key_name(key: str, rng: random.Random) -> str:
    return rng.choice(KEY_SAYS.get(key, [key, f"the {key} key", key.lower()]))


def tag_name(tag: str, rng: random.Random) -> str:
    return rng.choice(TAG_SAYS.get(tag, [f"anything tagged {tag}", f"an object tagged {tag}"]))


# an axis-aligned unit direction → (the ways to say it, its adjective)
DIRS = {
    (0, 0, 1): (["forward", "forwards", "ahead"], "forward"),
    (0, 0, -1): (["backward", "back"], "backward"),
    (1, 0, 0): (["right", "to the right"], "rightward"),
    (-1, 0, 0): (["left", "to the left"], "leftward"),
    (0, 1, 0): (["up", "upward", "upwards"], "upward"),
    (0, -1, 0): (["down", "downward"], "downward"),
}


def vec_text(v) -> str:
    """``[0, 1.5, 0]`` → ``(0, 1.5, 0)``."""
    return "(" + ", ".join(str(int(x)) if float(x).is_integer() else str(x) for x in v) + ")"


def unit(v) -> tuple[tuple | None, float]:
    """A vector as (axis-aligned unit direction, magnitude), or (None, 0) when it is not on one axis."""
    nz = [i for i, x in enumerate(v) if x]
    if len(nz) != 1:
        return None, 0
    m = abs(v[nz[0]])
    return tuple(int(x / m) for x in v), m
