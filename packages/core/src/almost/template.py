"""``almost new-plugin NAME``: write a plugin package that passes its own tests.

The package ``almost-NAME`` (import ``almost_NAME``) registers a reward model
(``reward/NAME-sharpness``) and a small game (``env/NAME-catch``) lazily, and tests both
with :mod:`almost.testing`. It is the README's "Writing a plugin" recipe as files::

    almost new-plugin mine && pip install -e almost-mine && pytest almost-mine/tests
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UserError
from .hookspecs import HOOK_API

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _files(name: str, core_version: str) -> dict[str, str]:
    mod = "almost_" + name.replace("-", "_")
    major = int(core_version.split(".")[0])
    core_req = f"almost-core>={'.'.join(core_version.split('.')[:2])},<{major + 1}"
    return {
        "pyproject.toml": f'''[project]
name = "almost-{name}"
version = "0.1.0"
description = "An Almost plugin: a sharpness reward and a catch-the-ball game."
readme = "README.md"
requires-python = ">=3.11"
license = "Apache-2.0"
dependencies = [
    "{core_req}",   # hook API {HOOK_API}: every almost-core below {major + 1}.0
    "torch>=2.4",
    "gymnasium>=1.0",
    "numpy>=1.26",
    "pillow>=10",
]

[project.entry-points.almost]
{name} = "{mod}.plugin"

[dependency-groups]
dev = ["pytest>=8"]

[build-system]
requires = ["uv_build>=0.8,<0.14"]
build-backend = "uv_build"
''',
        "README.md": f'''# almost-{name}

An [Almost](https://github.com/almost-dev/almost) plugin. It adds:

- `reward/{name}-sharpness` — prefers sharp images (mean absolute horizontal gradient);
- `env/{name}-catch` — catch a falling ball with a paddle, RGB frames, options `size`, `max_steps`.

```bash
pip install -e .                                # into the environment that has Almost (or: uv pip install -e .)
pytest                                          # the plugin's own checks (almost.testing)
almost plugins                                  # shows the plugin and its components
almost run --plugin ddpo --set reward={name}-sharpness                    # needs almost-ddpo
almost run --plugin gamengen --set env.name={name}-catch --set env.options.size=12
```

Components are registered as `"module:attr"` strings in `src/{mod}/plugin.py`, so `almost --help`
never imports torch for them.
''',
        f"src/{mod}/__init__.py": f'''"""almost-{name}: an Almost plugin (see plugin.py for what it registers)."""
''',
        f"src/{mod}/plugin.py": f'''"""Registers this package's components with Almost (entry point `{name}`).

Factories are "module:attr" strings: their modules (and torch) are imported only when a run
builds the component, so `almost --help` and `almost plugins` stay fast.
"""

import almost

almost_hook_api = {HOOK_API}  # the Almost hook API this plugin was written for


@almost.hookimpl
def almost_register(registry):
    registry.add("reward", "{name}-sharpness", "{mod}.reward:Sharpness", help="prefers sharp images")
    registry.add("env", "{name}-catch", "{mod}.game:Catch", help="catch the falling ball; options: size, max_steps")
''',
        f"src/{mod}/reward.py": '''"""A reward model: sharper images score higher."""

import torch

from almost.protocols import image_batch


class Sharpness:
    """Reward = mean absolute horizontal gradient of the image (higher: sharper)."""

    name = "sharpness"

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def __call__(self, images, prompts) -> torch.Tensor:
        x = image_batch(images)  # a (B, 3, H, W) tensor in [0, 1], or a list of PIL images
        return self.scale * (x[..., 1:] - x[..., :-1]).abs().mean(dim=(1, 2, 3))
''',
        f"src/{mod}/game.py": '''"""A small game: move the paddle to catch a falling ball."""

import gymnasium as gym
import numpy as np


class Catch(gym.Env):
    """A ball falls from a random column; the paddle moves LEFT/RIGHT. +1 catch, -1 miss."""

    metadata = {"render_modes": ["rgb_array"]}
    action_names = ("NOOP", "LEFT", "RIGHT")
    noop_action = 0

    def __init__(self, size: int = 10, cell: int = 3, max_steps: int = 200):
        self.size, self.cell, self.max_steps = size, cell, max_steps
        self.action_space = gym.spaces.Discrete(len(self.action_names))
        side = size * cell
        self.observation_space = gym.spaces.Box(0, 255, (side, side, 3), np.uint8)
        self._rng = np.random.default_rng()
        self.ball = np.zeros(2, int)
        self.paddle, self.t = 0, 0

    def _frame(self) -> np.ndarray:
        c = self.cell
        f = np.zeros(self.observation_space.shape, np.uint8)
        y, x = self.ball * c
        f[y:y + c, x:x + c] = (250, 200, 40)
        f[-c:, self.paddle * c:(self.paddle + 1) * c] = (255, 255, 255)
        return f

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.ball = np.array([0, self._rng.integers(self.size)])
        self.paddle = int(self._rng.integers(self.size))
        self.t = 0
        return self._frame(), {}

    def step(self, action):
        self.paddle = int(np.clip(self.paddle + (0, -1, 1)[int(action)], 0, self.size - 1))
        self.ball[0] += 1
        self.t += 1
        reward, terminated = 0.0, False
        if self.ball[0] == self.size - 1:
            reward = 1.0 if self.ball[1] == self.paddle else -1.0
            self.ball = np.array([0, self._rng.integers(self.size)])
        return self._frame(), reward, terminated, self.t >= self.max_steps, {}

    def render(self):
        return self._frame()
''',
        "tests/test_plugin.py": f'''"""The plugin's own checks, with almost.testing (run: uv run pytest)."""

import subprocess
import sys

import numpy as np
from PIL import Image

from almost.testing import check_component, load_app


def test_found_through_its_entry_point():
    app = load_app()
    info = next(i for i in app.plugins.values() if i.distribution == "almost-{name}")
    assert not info.broken, info.error
    assert set(info.components) == {{"reward/{name}-sharpness", "env/{name}-catch"}}


def test_registration_is_lazy():
    """Loading the plugins imports neither the reward module nor torch (a fresh process)."""
    code = "import sys; from almost.testing import load_app; load_app(); print('{mod}.reward' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_reward_follows_the_protocol():
    reward = check_component(load_app().registry, "reward/{name}-sharpness")
    flat = Image.new("RGB", (16, 16), (128, 128, 128))
    stripes = Image.fromarray((np.indices((16, 16))[1] % 2 * 255).astype(np.uint8)).convert("RGB")
    scores = reward([flat, stripes], ["a", "b"])
    assert scores[1] > scores[0]


def test_game_follows_the_protocol():
    check_component(load_app().registry, "env/{name}-catch", size=8)
''',
    }


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
