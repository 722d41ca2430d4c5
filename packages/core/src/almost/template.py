"""``almost new-plugin NAME``: write a plugin package that passes its own tests.

The package ``almost-NAME`` (import ``almost_NAME``) registers a reward model
(``reward/NAME-sharpness``), a small game (``env/NAME-catch``), a sampler and a trainer
(``sampler/NAME-follow``, ``trainer/NAME-reinforce``) and a pipeline that builds them from its
config (``almost run --plugin NAME``: play, score, learn) lazily, and tests them with :mod:`almost.testing`.
The files are real ones under ``almost/new_plugin_template/`` (linted with the project),
with the plugin named ``plugname``. It is the README's "Writing a plugin" recipe as files::

    almost new-plugin mine && pip install -e almost-mine && pytest almost-mine/tests
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UserError
from .hookspecs import HOOK_API

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


_TEMPLATE = Path(__file__).with_name("new_plugin_template")
_TOKEN = "plugname"  # the template's plugin name; its module is almost_plugname


def _files(name: str, core_version: str) -> dict[str, str]:
    """The template's files (relative path -> text) for plugin ``name``: real, lintable files under
    ``almost/new_plugin_template/`` with ``plugname`` replaced and the versions filled in."""
    mod = "almost_" + name.replace("-", "_")
    major = int(core_version.split(".")[0])
    core_req = f"almost-core>={'.'.join(core_version.split('.')[:2])},<{major + 1}"
    out = {}
    for path in sorted(_TEMPLATE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(_TEMPLATE).as_posix().replace(f"almost_{_TOKEN}", mod)
        text = path.read_text(encoding="utf-8")
        text = text.replace("almost-core>=0.1,<1", core_req).replace("hook API 1: every almost-core below 1.0",
                                                                    f"hook API {HOOK_API}: every almost-core below {major + 1}.0")
        text = text.replace("almost_hook_api = 1", f"almost_hook_api = {HOOK_API}")
        out[rel] = text.replace(f"almost_{_TOKEN}", mod).replace(_TOKEN, name)
    return out


def write_plugin(name: str, parent: Path) -> Path:
    """Write ``parent/almost-NAME/`` and return it; a bad name or an existing folder is a UserError."""
    from . import __version__

    name = name.strip().lower()
    name = name[len("almost-"):] if name.startswith("almost-") else name
    if not _NAME.match(name):
        raise UserError(f"plugin name {name!r} must be lowercase letters and digits, words joined by '-', "
                        "e.g. 'mine' or 'catch-game'")
    root = Path(parent) / f"almost-{name}"
    if root.exists():
        raise UserError(f"{root} already exists; choose another NAME or --dir")
    for rel, text in _files(name, __version__).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
