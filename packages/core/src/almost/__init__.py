"""Almost: train generative models from interaction and feedback.

The core package: protocols (:mod:`almost.protocols`), plugin hooks
(:mod:`almost.hookspecs`), the component registry (:mod:`almost.registry`), configs
(:mod:`almost.config`), pipelines and run directories (:mod:`almost.runs`), checkpoints
(:mod:`almost.train.checkpoint`), the console (:mod:`almost.observe.console`), the thread policy
(:mod:`almost.train.threads`) and the CLI.

Heavy libraries (torch, accelerate) are imported only where they are used, so ``almost
--help`` stays fast and ``import almost`` works without torch installed.

Use from Python (see the README, "Use Almost in your own project")::

    import almost

    cfg = almost.config_for("mine", profile="tiny")
    metrics = almost.run("mine", ["train"], config=cfg, out="runs/mine", quiet=True)
"""

from __future__ import annotations

from .api import config_for, run
from .errors import ConfigError, UnknownNameError, UserError
from .hookspecs import HOOK_API, hookimpl
from .runs import OpenedRun, Pipeline, RunContext, Stage, open_run

__version__ = "0.1.0"

__all__ = [
    "HOOK_API",
    "ConfigError",
    "OpenedRun",
    "Pipeline",
    "RunContext",
    "Stage",
    "UnknownNameError",
    "UserError",
    "__version__",
    "config_for",
    "hookimpl",
    "open_run",
    "run",
]
