"""Errors the emulator reports to its user.

Every failure a user can cause (bad input, bad config, missing package) becomes one
``EmulatorError`` whose lines are printed as-is by the CLI, which then exits non-zero
without leaving an output file behind. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class EmulatorError(Exception):
    """A user-facing failure; ``lines`` are printed one per line, ``exit_code`` is returned."""

    def __init__(self, message: str | list[str], *, exit_code: int = 1) -> None:
        lines = [message] if isinstance(message, str) else list(message)
        super().__init__("\n".join(lines))
        self.lines = lines
        self.exit_code = exit_code


class ConfigRejected(EmulatorError):
    """The YAML configuration failed validation (same lines as the code generator prints)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines, exit_code=2)
