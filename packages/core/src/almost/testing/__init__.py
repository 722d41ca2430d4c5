"""What plugin authors test with.

* :mod:`.checks` — ``check_*`` protocol checks of components, :func:`load_app`, :func:`run_cli`;
* :mod:`.web` — local web pages against other sites: :func:`raw_request`, :func:`attacker_site`,
  :func:`free_port`, :func:`launch_chromium`;
* :mod:`.two_process` — :func:`two_process_command`, a stage under a two-process launch.

Everything is importable from ``almost.testing`` itself::

    from almost.testing import check_component, load_app
"""

from .checks import (
    check_component,
    check_dataset,
    check_environment,
    check_reward_model,
    check_sampler,
    check_trainer,
    load_app,
    run_cli,
)
from .two_process import two_process_command
from .web import (
    ATTACKER_PAGE,
    CHROMIUM_ARGS,
    attacker_site,
    chromium_executable,
    free_port,
    launch_chromium,
    raw_request,
)

__all__ = [
    "ATTACKER_PAGE",
    "CHROMIUM_ARGS",
    "attacker_site",
    "check_component",
    "check_dataset",
    "check_environment",
    "check_reward_model",
    "check_sampler",
    "check_trainer",
    "chromium_executable",
    "free_port",
    "launch_chromium",
    "load_app",
    "raw_request",
    "run_cli",
    "two_process_command",
]
