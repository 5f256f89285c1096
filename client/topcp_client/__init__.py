"""topcp-sx: validate TopCPToolkit configs offline, run them locally, deliver, inspect and plot.

The Python API mirrors the CLI: ``validate``, ``run_local``, ``check_query`` /
``ensure_valid_query`` (before ``servicex.deliver``), ``inspect_file`` and ``plot_branch``.
"""

from __future__ import annotations

from .api import ConfigValidationError, check_query, ensure_valid_query, validate
from .configs import UsageError
from .inspect_output import inspect_file
from .local_run import FileResult, run_local
from .plotting import plot_branch

__all__ = [
    "ConfigValidationError",
    "FileResult",
    "UsageError",
    "check_query",
    "ensure_valid_query",
    "inspect_file",
    "plot_branch",
    "run_local",
    "validate",
]
