"""The five protocols of Almost, in one place.

Every component a plugin registers implements one of these. They are
``typing.Protocol`` classes marked ``runtime_checkable``, so ``isinstance(x, RewardModel)``
checks that the required attributes exist (not their signatures: use
the checks of :mod:`almost.testing` for what it does).

Conventions shared by all of them:

* Randomness comes in as a ``torch.Generator`` (or a seed), never from global state.
* Images are ``uint8`` arrays ``(H, W, 3)`` or float tensors ``(B, 3, H, W)`` in ``[0, 1]``;
  the docstring of each method says which.
* Components are created by a factory registered under ``kind/name`` (see
  :mod:`almost.registry`); the factory takes keyword arguments from the run's config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Environment(Protocol):
    """A game the agents play and the recorders watch: a ``gymnasium.Env`` with extras.

    * ``action_space`` is ``gymnasium.spaces.Discrete(len(action_names))``.
    * ``action_names`` names every action id, in order; it contains ``noop_action``'s name.
    * ``noop_action`` is the id of the explicit "do nothing" action (used for padding).
    * ``observation_space`` is a ``Box(0, 255, (H, W, 3), uint8)``: RGB frames.
    * ``reset(seed=...) -> (frame, info)`` and ``step(a) -> (frame, reward, terminated,
      truncated, info)`` follow gymnasium; ``close()`` releases processes and files.
    * ``info`` may carry ``game_variables`` (a dict of floats) for reward shaping.
    """

    action_names: Sequence[str]
    noop_action: int
    action_space: Any
    observation_space: Any

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]: ...

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict]: ...

    def close(self) -> None: ...


@runtime_checkable
class Dataset(Protocol):
    """Episodes or examples on disk, readable as torch data, that know their own schema.

    * ``schema()`` returns a plain dict describing fields, dtypes and shapes (JSON-able).
    * ``__len__`` / ``__getitem__`` make it usable as a ``torch.utils.data.Dataset``.
    * ``root`` is the folder (or file) it reads.
    """

    root: Path

    def schema(self) -> Mapping[str, Any]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


@runtime_checkable
class Sampler(Protocol):
    """Draws samples (images, frames, code) given conditions and a ``torch.Generator``.

    ``sample(conditions, generator=g)`` returns one sample per condition, in order. What a
    condition and a sample are depends on the domain (a prompt and an image; an IR spec and
    C# source); the sampler's docstring says. The same generator seed gives the same samples.
    A stage that samples names its sampler in the config (a ``component="sampler"`` field such
    as ``generate.sampler``) and builds it through the registry with the model it samples from
    as keywords; the pipeline's docs say which.
    An optional ``example_conditions()`` returns a few valid conditions, which
    :func:`almost.testing.check_sampler` uses when the test gives none.
    """

    def sample(self, conditions: Sequence[Any], *, generator: Any = None) -> list[Any]: ...


@runtime_checkable
class RewardModel(Protocol):
    """Maps a batch of samples (and their conditions) to rewards.

    ``__call__(images, prompts)`` takes float images ``(B, 3, H, W)`` in ``[0, 1]`` **or** a
    list of ``B`` PIL images (both forms must work and agree: :func:`image_batch` turns either
    into the tensor) and a list of ``B`` condition strings, and returns a float tensor of
    shape ``(B,)``; higher is better. ``name`` identifies the model in logs and metrics.
    """

    name: str

    def __call__(self, images: Any, prompts: Sequence[str]) -> Any: ...


@runtime_checkable
class Trainer(Protocol):
    """Fits a model from a Dataset, or from a Sampler and a RewardModel.

    ``fit()`` trains until its configured budget (steps or epochs) and returns a mapping of
    final metrics, ``str`` → ``float`` (flat names, units in the name). It checkpoints under
    ``output_dir`` as it goes, and a new ``fit()`` on the same ``output_dir`` resumes from the
    last checkpoint (after a finished ``fit()``, a second one trains no further and returns the
    same metrics: :func:`almost.testing.check_trainer` checks this).

    **In a pipeline.** A stage that trains names its trainer in the config (a ``component=
    "trainer"`` field such as ``policy.trainer``) and builds it through the registry with the
    run's context and its inputs as keywords: ``ctx.component(f"trainer/{name}", ctx=ctx,
    dataset=..., sampler=..., reward=...)``. Such a trainer writes under ``ctx.stage_dir()``
    (``output_dir``), saves with :class:`almost.train.checkpoint.Checkpoints` so the run's config
    identity and kill -9 rules hold, logs its per-step history with ``ctx.log_step`` and returns
    the metrics the stage reports. The pipeline's docs say which keywords its stages pass.
    """

    output_dir: Path

    def fit(self) -> Mapping[str, float]: ...


def image_batch(images: Any) -> Any:
    """Float ``(B, 3, H, W)`` in ``[0, 1]`` from what a RewardModel may receive: such a tensor
    (returned as float), or a list of PIL images / ``(H, W, 3)`` uint8 arrays."""
    import numpy as np
    import torch

    if isinstance(images, torch.Tensor):
        return images.float()
    arrays = [np.asarray(im.convert("RGB") if hasattr(im, "convert") else im) for im in images]
    return torch.stack([torch.from_numpy(a.astype(np.float32) / 255.0).permute(2, 0, 1) for a in arrays])


PROTOCOLS: dict[str, type] = {
    "env": Environment,
    "dataset": Dataset,
    "sampler": Sampler,
    "reward": RewardModel,
    "trainer": Trainer,
}
"""Component kind → the protocol its factories must produce."""

