"""The ViZDoom scenarios the installed wheel ships, found without importing vizdoom, gymnasium
or numpy: the plugin registers one ``env/vizdoom-<scenario>`` per name when plugins load."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# scenarios whose config needs more than the wheel's single-player defaults
_SKIP = {
    "basic_audio",
    "basic_notifications",
    "cig",
    "multi_duel",
    "deathmatch",
    "learning",
    "oblige",
    "doom",
    "doom2",
    "freedoom2",
    "multi",
}
_MAPS = {"freedoom1": "E1M1"}


def scenarios_dir() -> Path | None:
    spec = importlib.util.find_spec("vizdoom")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "scenarios"


def scenario_names() -> list[str]:
    """The single-player scenarios the installed wheel ships (without importing vizdoom)."""
    d = scenarios_dir()
    if d is None or not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.cfg") if p.stem not in _SKIP)
