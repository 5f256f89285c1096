"""Validation of TopCPToolkit YAML configs, shared by the code generator and the client.

Importable without Flask. Public API (docs/contracts.md): :func:`validate`, :func:`load_yaml`,
:data:`SCHEMA_RELEASE`, :class:`ConfigError`, and the cut grammar :func:`parse_cuts` /
:class:`Cut` that the emulator reuses to evaluate EventSelection.
"""

from __future__ import annotations

from .cuts import Cut, CutProblem, CutSyntaxError, check_cuts, parse_cuts
from .errors import ConfigError
from .loader import load_yaml
from .validator import SCHEMA_RELEASE, validate

__all__ = [
    "SCHEMA_RELEASE",
    "ConfigError",
    "Cut",
    "CutProblem",
    "CutSyntaxError",
    "check_cuts",
    "load_yaml",
    "parse_cuts",
    "validate",
]
