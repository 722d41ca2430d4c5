"""Checks that plugin authors run against their components.

Each ``check_*`` function exercises a component through its protocol and raises
``AssertionError`` with a plain message when it misbehaves::

    from almost.testing import check_component, load_app

    def test_my_reward():
        app = load_app()                     # fresh, from installed entry points
        check_component(app.registry, "reward/mine")

:func:`load_app` gives a fresh App each call (never the CLI's cached one), and
:func:`run_cli` runs the ``almost`` command in-process and returns its exit code and output.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .protocols import PROTOCOLS, Dataset, Environment, RewardModel, Sampler


def load_app(extra: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None):
    """A fresh App from the installed ``almost`` entry points (plus ``extra`` plugins)."""
    from .plugins import load

    return load(extra=extra, env=env)


def check_environment(env: Any, steps: int = 8, seed: int = 0) -> None:
    """Reset and step ``env``; check names, spaces, frame dtype/shape and the 5-tuple."""
    import numpy as np

    assert isinstance(env, Environment), f"{type(env).__name__} lacks Environment attributes"
    n = getattr(env.action_space, "n", None)
    assert n is not None, "action_space must be Discrete"
    assert len(env.action_names) == n, f"{len(env.action_names)} action names for {n} actions"
    assert len(set(env.action_names)) == n, "action names must be unique"
    assert 0 <= env.noop_action < n, f"noop_action {env.noop_action} is not an action id"
    shape = tuple(env.observation_space.shape)
    assert len(shape) == 3 and shape[2] == 3, f"observations must be (H, W, 3) RGB, not {shape}"
    frame, info = env.reset(seed=seed)
    frame = np.asarray(frame)
    assert frame.dtype == np.uint8, f"frames must be uint8, not {frame.dtype}"
    assert frame.shape == shape, f"reset frame {frame.shape} != observation space {shape}"
    assert isinstance(info, dict), "reset must return (frame, info dict)"
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        out = env.step(int(rng.integers(n)))
        assert len(out) == 5, "step must return (frame, reward, terminated, truncated, info)"
        frame, reward, terminated, truncated, info = out
        assert np.asarray(frame).shape == shape, "step frame shape changed"
        assert math.isfinite(float(reward)), "reward must be a finite number"
        if terminated or truncated:
            env.reset(seed=seed + 1)


def check_reward_model(model: Any, images: Any = None, prompts: Sequence[str] | None = None) -> Any:
    """Call ``model`` on a small batch; check a finite float tensor of shape ``(B,)``."""
    import torch

    assert isinstance(model, RewardModel), f"{type(model).__name__} lacks RewardModel attributes"
    if images is None:
        g = torch.Generator().manual_seed(0)
        images = torch.rand(3, 3, 32, 32, generator=g)
    b = len(images)
    prompts = list(prompts) if prompts is not None else ["a red circle"] * b
    out = model(images, prompts)
    assert isinstance(out, torch.Tensor), f"reward must be a torch.Tensor, not {type(out).__name__}"
    assert out.shape == (b,), f"reward shape {tuple(out.shape)} != ({b},)"
    assert out.dtype.is_floating_point, "reward must be floating point"
    assert torch.isfinite(out).all(), "reward has non-finite values"
    return out


def check_sampler(sampler: Any, conditions: Sequence[Any]) -> list[Any]:
    """Sample twice with the same seed; check one sample per condition and determinism."""
    import torch

    assert isinstance(sampler, Sampler), f"{type(sampler).__name__} lacks Sampler attributes"
    a = sampler.sample(conditions, generator=torch.Generator().manual_seed(0))
    assert len(a) == len(conditions), f"{len(a)} samples for {len(conditions)} conditions"
    b = sampler.sample(conditions, generator=torch.Generator().manual_seed(0))
    assert repr(a) == repr(b) or all(_same(x, y) for x, y in zip(a, b)), "same seed gave different samples"
    return a


def _same(x: Any, y: Any) -> bool:
    import numpy as np

    try:
        return bool(np.array_equal(np.asarray(x), np.asarray(y)))
    except Exception:
        return x == y


def check_dataset(ds: Any) -> None:
    """Check the schema is a JSON-able dict and the first and last items can be read."""
    import json

    assert isinstance(ds, Dataset), f"{type(ds).__name__} lacks Dataset attributes"
    json.dumps(dict(ds.schema()))
    n = len(ds)
    assert n > 0, "dataset is empty"
    ds[0]
    ds[n - 1]


def check_component(registry: Any, key: str, **kwargs: Any) -> Any:
    """Create ``key`` from ``registry`` and run the check for its kind; returns the instance."""
    comp = registry.get(key)
    obj = comp.create(**kwargs)
    proto = PROTOCOLS[comp.kind]
    assert isinstance(obj, proto), f"{key} does not implement {proto.__name__}"
    try:
        if comp.kind == "env":
            check_environment(obj)
        elif comp.kind == "reward":
            check_reward_model(obj)
        elif comp.kind == "dataset":
            check_dataset(obj)
    finally:
        if comp.kind == "env":
            obj.close()
    return obj


def run_cli(args: Sequence[str]) -> tuple[int, str, str]:
    """Run ``almost ARGS`` in-process; returns ``(exit_code, stdout, stderr)``."""
    from . import plugins
    from .cli import main, reset_plugin_commands

    out, err = io.StringIO(), io.StringIO()
    plugins.get_app.cache_clear()
    reset_plugin_commands()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        plugins.get_app.cache_clear()
        reset_plugin_commands()
    return code, out.getvalue(), err.getvalue()
