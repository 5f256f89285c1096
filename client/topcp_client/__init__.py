"""topcp-sx: validate TopCPToolkit configs offline, run them locally, deliver, inspect and plot.

The Python API mirrors the CLI: ``validate``, ``run_local``, ``check_query`` /
``ensure_valid_query`` (before ``servicex.deliver``), ``inspect_file`` and ``plot_branch``; for
what comes after delivery: ``summarize`` (one sample summary across files), ``preflight``
(input metadata against the config) and ``read_input_facts``.
"""

from __future__ import annotations

from .api import ConfigValidationError, check_query, ensure_valid_query, validate
from .configs import UsageError
from .inspect_output import inspect_file
from .local_run import FileResult, run_local
from .physlite_metadata import InputFacts, read_input_facts
from .plotting import plot_branch
from .preflight import Mismatch, PreflightReport, preflight
from .summary import Summary, load_summary, summarize, write_summary

__all__ = [
    "ConfigValidationError",
    "FileResult",
    "InputFacts",
    "Mismatch",
    "PreflightReport",
    "Summary",
    "UsageError",
    "check_query",
    "ensure_valid_query",
    "inspect_file",
    "load_summary",
    "plot_branch",
    "preflight",
    "read_input_facts",
    "run_local",
    "summarize",
    "validate",
    "write_summary",
]
