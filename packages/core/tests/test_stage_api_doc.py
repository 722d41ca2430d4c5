"""docs/stage-api.md, the stage author's API, names only things that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import almost

DOC = Path(__file__).resolve().parents[3] / "docs" / "stage-api.md"


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_every_name_on_the_stage_api_page_imports():
    text = DOC.read_text(encoding="utf-8")
    names = sorted(set(re.findall(r"`(almost(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text)))
    assert len(names) >= 30, names  # the page's tables, not an empty page
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"docs/stage-api.md names what does not exist: {missing}"


def test_the_page_and_the_hook_api_agree():
    text = DOC.read_text(encoding="utf-8")
    assert f"`almost.HOOK_API` (now `{almost.HOOK_API}`)" in text
    from almost import hookspecs

    assert "docs/stage-api.md" in hookspecs.__doc__  # the version's promise names this page
    for member in ("stage_dir", "find_stage_dir", "log_metrics", "log_step", "add_artifact", "component"):
        assert f"`ctx.{member}(" in text and callable(getattr(almost.RunContext, member))
