"""Rewards for C# programs: ``reward/csharp-compile`` and ``reward/csharp-behaviour``.

They follow the core's RewardModel protocol with text samples: ``reward(codes, prompts)``
takes ``B`` C# programs and their ``B`` conditions (the IR JSON each was written for) and
returns a float tensor ``(B,)``, higher is better. ``refine`` maximises whichever reward its
``refine.reward`` names, so a third-party reward (a style checker, a performance lint)
registered through the ``almost`` entry point plugs in as ``--set refine.reward=NAME``.

* ``csharp-compile``: 1 if the program compiles on its own against the UnityEngine stub
  (mono ``mcs``; with no mcs, a tree-sitter syntax check), else 0.
* ``csharp-behaviour``: 1 if it also does what its IR says in the simulated Unity
  (:mod:`almost_irgen.unitysim`), ``compile_credit`` (default 0.5) if it compiles, misbehaves
  but shows at least one effect the spec asks for (an expected event, field value or pose),
  0 otherwise: a program that does nothing the spec asks (an empty class, one that only logs,
  one that writes constants) earns nothing for compiling, or RL would learn to stop there.
  Without mono it falls back to the compile reward scaled by ``compile_credit`` and says so once.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence


def _irs(prompts: Sequence[str]) -> list[dict]:
    return [p if isinstance(p, dict) else json.loads(p) for p in prompts]


class CompileReward:
    """1.0 per program that compiles, else 0.0."""

    name = "csharp-compile"

    def __init__(self, compiler: str = "auto", workers: int = 1) -> None:
        from .csharp import find_compiler

        self.checker = find_compiler(compiler, workers=workers)

    def __call__(self, codes: Sequence[str], prompts: Sequence[str]):
        import torch

        return torch.tensor([float(r.ok) for r in self.checker.check(list(codes))])


class BehaviourReward:
    """1.0 behaves as the IR says, ``compile_credit`` compiles and does part of it, else 0.0."""

    name = "csharp-behaviour"

    def __init__(self, compile_credit: float = 0.5, timeout_s: float = 5.0, workers: int = 1) -> None:
        from .csharp import find_compiler

        if not 0 <= compile_credit <= 1:
            from almost.errors import ConfigError

            raise ConfigError(f"reward_options.compile_credit must be between 0 and 1, not {compile_credit}")
        self.credit = float(compile_credit)
        self.checker = find_compiler("auto", workers=workers)
        self.behaviour = None
        if getattr(self.checker, "compiles", False) and shutil.which("mono"):
            from .unitysim import BehaviourChecker

            self.behaviour = BehaviourChecker(self.checker, timeout_s=timeout_s)
        else:
            from almost.observe.console import console

            console.print("[yellow]csharp-behaviour: mcs and mono are needed to run programs; "
                          "rewarding compilation only (apt-get install mono-mcs mono-runtime)[/]")

    def __call__(self, codes: Sequence[str], prompts: Sequence[str]):
        import torch

        codes = list(codes)
        if self.behaviour is None:
            return torch.tensor([self.credit * r.ok for r in self.checker.check(codes)])
        out = []
        for b in self.behaviour.check(_irs(prompts), codes):
            compiled = not (b.failed and b.failed[0].startswith("does not compile"))
            out.append(1.0 if b.ok else self.credit if compiled and b.did_something else 0.0)
        return torch.tensor(out)
