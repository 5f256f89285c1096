"""Validation of TopCPToolkit YAML configs, shared by the code generator and the client.

Importable without Flask. Public API (docs/contracts.md): :func:`validate`, :func:`load_yaml`,
:data:`SCHEMA_RELEASE`, :class:`ConfigError`, the cut grammar :func:`parse_cuts` /
:class:`Cut` that the emulator reuses to evaluate EventSelection, :func:`configure` (which
schema file and severity policy a deployment uses) and the compiler-style renderers.
"""

from __future__ import annotations

from .active import configure
from .cuts import Cut, CutProblem, CutSyntaxError, check_cuts, parse_cuts
from .errors import ConfigError
from .loader import load_yaml
from .render import render_json, render_text
from .schema import Schema, SchemaFileError
from .validator import SCHEMA_RELEASE, validate

__all__ = [
    "SCHEMA_RELEASE",
    "ConfigError",
    "Cut",
    "CutProblem",
    "CutSyntaxError",
    "Schema",
    "SchemaFileError",
    "check_cuts",
    "configure",
    "load_yaml",
    "parse_cuts",
    "render_json",
    "render_text",
    "validate",
]
