"""Almost: train generative models from interaction and feedback.

The core package, in layers: errors, atomic io, configs, protocols, plugin hooks and the
component registry at the top level (:mod:`almost.errors`, :mod:`almost.io`,
:mod:`almost.config`, :mod:`almost.protocols`, :mod:`almost.hookspecs`, :mod:`almost.registry`);
seeing a run (:mod:`almost.observe`: console, step history, trackers, report); training helpers
(:mod:`almost.train`: checkpoints, threads); runs (:mod:`almost.runs`: pipelines, the run
directory, the driver, reading a run back); local pages (:mod:`almost.web`); what plugin authors
test with (:mod:`almost.testing`); and the CLI.

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
from .runs import OpenedRun, Pipeline, RunContext, RunDir, Stage, open_run

__version__ = "0.1.0"

__all__ = [
    "HOOK_API",
    "ConfigError",
    "OpenedRun",
    "Pipeline",
    "RunContext",
    "RunDir",
    "Stage",
    "UnknownNameError",
    "UserError",
    "__version__",
    "config_for",
    "hookimpl",
    "open_run",
    "run",
]
