"""Checks that plugin authors run against their components.

Each ``check_*`` function exercises a component through its protocol and raises
``AssertionError`` with a plain message when it misbehaves::

    from almost.testing import check_component, load_app

    def test_my_reward():
        app = load_app()                     # fresh, from installed entry points
        check_component(app.registry, "reward/mine")

:func:`load_app` gives a fresh App each call (never the CLI's cached one), and
:func:`run_cli` runs the ``almost`` command in-process and returns its exit code and output;
:func:`raw_request` sends a local web UI a request with exactly the headers given (to test
its :class:`almost.web.localserver.Guard`), :func:`attacker_site` serves a page from another origin
to run a browser script against it, :func:`free_port` picks a port to start a server on, and
:func:`launch_chromium` starts the real headless Chromium that page tests drive (skipping the
test where Debian's ``chromium`` or playwright is missing): those live in :mod:`almost.testing.web`.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..protocols import PROTOCOLS, Dataset, Environment, RewardModel, Sampler, Trainer


def load_app(extra: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None):
    """A fresh App from the installed ``almost`` entry points (plus ``extra`` plugins)."""
    from ..plugins import load

    return load(extra=extra, env=env)


def _frame_ok(frame: Any, space: Any, where: str) -> Any:
    import numpy as np

    arr = np.asarray(frame)
    shape, dtype = tuple(space.shape), np.dtype(space.dtype)
    assert arr.dtype == dtype, f"{where} frame dtype is {arr.dtype}, but observation_space says {dtype}"
    assert arr.shape == shape, f"{where} frame shape is {arr.shape}, but observation_space says {shape}"
    return arr


def check_environment(env: Any, steps: int = 8, seed: int = 0) -> None:
    """Reset and step ``env``; check names, spaces, that every frame matches
    ``observation_space`` in dtype and shape, the 5-tuple, finite rewards, and that
    ``reset(seed=s)`` followed by the same actions gives the same frames and rewards."""
    import numpy as np

    assert isinstance(env, Environment), f"{type(env).__name__} lacks Environment attributes"
    n = getattr(env.action_space, "n", None)
    assert n is not None, "action_space must be Discrete"
    assert len(env.action_names) == n, f"{len(env.action_names)} action names for {n} actions"
    assert len(set(env.action_names)) == n, "action names must be unique"
    assert 0 <= env.noop_action < n, f"noop_action {env.noop_action} is not an action id"
    space = env.observation_space
    shape = tuple(space.shape)
    assert len(shape) == 3 and shape[2] == 3, f"observations must be (H, W, 3) RGB, not {shape}"
    assert np.dtype(space.dtype) == np.uint8, f"observation_space dtype must be uint8, not {space.dtype}"

    def play(s: int) -> tuple[list[Any], list[float]]:
        frame, info = env.reset(seed=s)
        frames = [_frame_ok(frame, space, "reset")]
        assert isinstance(info, dict), "reset must return (frame, info dict)"
        rewards: list[float] = []
        rng = np.random.default_rng(s)
        for i in range(steps):
            out = env.step(int(rng.integers(n)))
            assert len(out) == 5, "step must return (frame, reward, terminated, truncated, info)"
            frame, reward, terminated, truncated, info = out
            frames.append(_frame_ok(frame, space, f"step {i}"))
            assert math.isfinite(float(reward)), f"step {i} reward {reward!r} is not a finite number"
            assert isinstance(info, dict), "step must return an info dict"
            rewards.append(float(reward))
            if terminated or truncated:
                break
        return frames, rewards

    frames_a, rewards_a = play(seed)
    frames_b, rewards_b = play(seed)
    same = len(frames_a) == len(frames_b) and all(np.array_equal(x, y) for x, y in zip(frames_a, frames_b))
    assert same and rewards_a == rewards_b, (
        f"reset(seed={seed}) then the same actions gave different frames or rewards: the env must draw "
        "its randomness from the seed (self.np_random or a generator seeded in reset)"
    )


def check_reward_model(model: Any, images: Any = None, prompts: Sequence[str] | None = None) -> Any:
    """Call ``model`` on a small batch, as a float tensor and as a list of PIL images; check a
    finite float tensor of shape ``(B,)`` and that both input forms give the same rewards."""
    import numpy as np
    import torch

    assert isinstance(model, RewardModel), f"{type(model).__name__} lacks RewardModel attributes"
    if images is None:
        g = torch.Generator().manual_seed(0)
        images = (torch.rand(3, 3, 32, 32, generator=g) * 255).round() / 255  # exact as uint8 too
    b = len(images)
    prompts = list(prompts) if prompts is not None else ["a red circle"] * b

    def call(x: Any, form: str) -> Any:
        out = model(x, list(prompts))
        assert isinstance(out, torch.Tensor), f"reward ({form}) must be a torch.Tensor, not {type(out).__name__}"
        assert out.shape == (b,), f"reward shape ({form}) {tuple(out.shape)} != ({b},)"
        assert out.dtype.is_floating_point, f"reward ({form}) must be floating point, not {out.dtype}"
        assert torch.isfinite(out).all(), f"reward ({form}) has non-finite values"
        return out.detach().float().cpu()

    if not isinstance(images, torch.Tensor):
        return call(images, "a list of images")
    out = call(images, "a tensor")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - PIL is everywhere torchvision/diffusers are
        return out
    arrays = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    try:
        pil = call([Image.fromarray(np.ascontiguousarray(a)) for a in arrays], "a list of PIL images")
    except AssertionError:
        raise
    except Exception as e:
        raise AssertionError(
            f"{type(model).__name__} fails on a list of PIL images ({type(e).__name__}: {e}); the "
            "RewardModel protocol allows both forms: convert with almost.protocols.image_batch(images)"
        ) from e
    assert torch.allclose(out, pil, rtol=1e-3, atol=1e-4), (
        f"the same images give different rewards as a tensor {out.tolist()} and as PIL images {pil.tolist()}"
    )
    return out


def check_sampler(sampler: Any, conditions: Sequence[Any] | None = None) -> list[Any]:
    """Sample twice with the same seed; check one sample per condition and determinism.

    ``conditions`` default to the sampler's ``example_conditions()``, else three prompts."""
    import torch

    assert isinstance(sampler, Sampler), f"{type(sampler).__name__} lacks Sampler attributes"
    if conditions is None:
        example = getattr(sampler, "example_conditions", None)
        conditions = list(example()) if callable(example) else ["a red circle", "a blue square", "a green star"]
    conditions = list(conditions)
    assert len(conditions) >= 2, "check_sampler needs at least two conditions"
    a = sampler.sample(conditions, generator=torch.Generator().manual_seed(0))
    a = list(a)
    assert len(a) == len(conditions), f"{len(a)} samples for {len(conditions)} conditions (one each is required)"
    b = list(sampler.sample(conditions, generator=torch.Generator().manual_seed(0)))
    assert len(b) == len(a) and all(_same(x, y) for x, y in zip(a, b)), "same seed gave different samples"
    one = list(sampler.sample(conditions[:1], generator=torch.Generator().manual_seed(0)))
    assert len(one) == 1, f"{len(one)} samples for 1 condition"
    return a


def _same(x: Any, y: Any) -> bool:
    import numpy as np

    try:
        import torch

        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            return bool(torch.equal(torch.as_tensor(x), torch.as_tensor(y)))
    except ImportError:  # pragma: no cover
        pass
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


def check_trainer(trainer: Any, resume: bool = True) -> Mapping[str, float]:
    """Call ``fit()``; check it returns a mapping of metric name → finite float. ``resume``:
    then call ``fit()`` again on the same ``output_dir`` and check it resumes from its last
    checkpoint, training no further: the same metrics (a trainer that starts over with other
    randomness, or keeps training past its budget, fails here)."""
    assert isinstance(trainer, Trainer), f"{type(trainer).__name__} lacks Trainer attributes"
    out = trainer.fit()
    _finite_metrics(out)
    if resume:
        again = trainer.fit()
        _finite_metrics(again)
        assert set(again) == set(out) and all(math.isclose(float(again[k]), float(out[k]), rel_tol=1e-6, abs_tol=1e-9)
                                              for k in out), (
            f"a second fit() on the same output_dir must resume to the same metrics; first {dict(out)}, "
            f"then {dict(again)}")
    return out


def _finite_metrics(out: Any) -> None:
    assert isinstance(out, Mapping), f"fit() must return a mapping of metric name to float, not {type(out).__name__}"
    for k, v in out.items():
        assert isinstance(k, str), f"fit() metric names must be strings, not {k!r}"
        assert isinstance(v, int | float) and not isinstance(v, bool), (
            f"fit() metric {k!r} must be a number, not {type(v).__name__} {v!r}"
        )
        assert math.isfinite(float(v)), f"fit() metric {k!r} is not finite ({v!r})"


def check_component(registry: Any, key: str, *, conditions: Sequence[Any] | None = None, **kwargs: Any) -> Any:
    """Create ``key`` from ``registry`` with ``kwargs`` (its options) and run the check for its
    kind (``conditions`` go to :func:`check_sampler`); returns the instance."""
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
        elif comp.kind == "sampler":
            check_sampler(obj, conditions)
        elif comp.kind == "trainer":
            check_trainer(obj)
    finally:
        if comp.kind == "env":
            obj.close()
    return obj


def run_cli(args: Sequence[str]) -> tuple[int, str, str]:
    """Run ``almost ARGS`` in-process; returns ``(exit_code, stdout, stderr)``."""
    from .. import plugins
    from ..cli import main, reset_plugin_commands

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
