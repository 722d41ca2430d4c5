"""Errors that mean "the user asked for something wrong", shown as one sentence.

The CLI catches :class:`UserError` (and its subclasses) and prints the message alone, with
no traceback, then exits with status 2. Anything else is a bug and keeps its traceback.
Plugins raise ``UserError`` for bad input: a missing file, a malformed JSON document, shapes
that disagree, an unknown name. The message should name the thing and say how to fix it.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for; printed as one plain sentence, exit status 2."""

    exit_code = 2


class UnknownNameError(UserError, KeyError):
    """A plugin, component or stage name that is not known; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(UserError, ValueError):
    """A configuration key or value that is not valid; the message names the key."""


class NonFiniteError(UserError):
    """Training produced a NaN or infinite value; the message names the stage and the step."""

    def __init__(self, message: str, stage: str = "", step: int | None = None, value: float | None = None):
        super().__init__(message)
        self.stage, self.step, self.value = stage, step, value


class InterruptedRun(UserError):
    """The run got SIGINT or SIGTERM; the message says where it stopped and how to resume."""

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


class RunLocked(UserError):
    """Another ``almost run`` holds this run directory."""


def known_list(names, limit: int = 30) -> str:
    """Format known names for an error message: ``a, b, c`` or ``(none)``."""
    names = sorted(names)
    if not names:
        return "(none)"
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
