"""Almost: train generative models from interaction and feedback.

The core package: protocols (:mod:`almost.protocols`), plugin hooks
(:mod:`almost.hookspecs`), the component registry (:mod:`almost.registry`), configs
(:mod:`almost.config`), pipelines and run directories (:mod:`almost.pipeline`), checkpoints
(:mod:`almost.checkpoint`), the console (:mod:`almost.console`) and the CLI.

Heavy libraries (torch, accelerate) are imported only where they are used, so ``almost
--help`` stays fast.
"""

from __future__ import annotations

from .errors import ConfigError, UnknownNameError, UserError
from .hookspecs import hookimpl
from .pipeline import Pipeline, RunContext, Stage

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Pipeline",
    "RunContext",
    "Stage",
    "UnknownNameError",
    "UserError",
    "__version__",
    "hookimpl",
]
