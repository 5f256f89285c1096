"""The Python API: validate configs, check a ``servicex.query.TopCP`` before ``deliver()``.

``servicex`` never parses the YAML on the client side, so a typo is found only after a
remote round trip. These helpers run the code generator's own validator offline first.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from topcp_codegen.validation.errors import ConfigError

from .configs import UsageError, assign_levels, only_errors, validate_files


class ConfigValidationError(ValueError):
    """Configs have errors; ``errors`` lists them (warnings included), ``str()`` is compiler-style."""

    def __init__(self, errors: Iterable[ConfigError]):
        self.errors = list(errors)
        bad = only_errors(self.errors)
        super().__init__(
            f"{len(bad)} config error(s):\n" + "\n".join(str(e) for e in bad)
        )


def validate(
    *paths: str | Path,
    reco: str | Path | None = None,
    particle: str | Path | None = None,
    parton: str | Path | None = None,
    release: str | None = None,
    on_note: Callable[[str], None] | None = None,
    strict: bool | None = None,
) -> list[ConfigError]:
    """Validate TopCP config files offline; returns errors and warnings (empty = clean).

    Keywords set a file's level; positional files get theirs from their name (``reco.yaml``,
    ``my_particle.yaml``), else from the blocks they hold, else reco (``topcp_client.levels``).
    ``on_note`` hears how a level was guessed; by default that is a ``UserWarning``.
    ``strict`` reports warnings (what the schema's data cannot verify) as errors.
    """
    levels = assign_levels(
        [Path(p) for p in paths],
        reco=Path(reco) if reco else None,
        particle=Path(particle) if particle else None,
        parton=Path(parton) if parton else None,
        on_note=on_note or (lambda note: warnings.warn(note, UserWarning, stacklevel=3)),
    )
    return validate_files(levels, release=release, strict=strict)


def _query_paths(query: Any) -> dict[str, Path]:
    levels = {}
    for level in ("reco", "particle", "parton"):
        value = getattr(query, level, None)
        if value is not None:
            levels[level] = Path(value)
    if not levels and not hasattr(query, "reco"):
        raise UsageError(f"expected a servicex.query.TopCP object, got {type(query).__name__}")
    return levels


def check_query(query: Any, *, release: str | None = None) -> list[ConfigError]:
    """Validate the YAML files a ``servicex.query.TopCP`` points at (paths as deliver() reads them)."""
    levels = _query_paths(query)
    if not levels:
        raise UsageError("the TopCP query names no reco, particle or parton YAML")
    max_events = getattr(query, "max_events", -1)
    if max_events is not None and (max_events < -1 or max_events == 0):
        raise UsageError(f"max_events must be -1 (all) or positive, got {max_events}")
    return validate_files(levels, release=release)


def ensure_valid_query(query: Any, *, release: str | None = None) -> Any:
    """Raise ``ConfigValidationError`` if the query's configs have errors; else return the query.

    Use it inline: ``deliver(spec_with(ensure_valid_query(TopCP(reco="reco.yaml"))))``.
    """
    problems = check_query(query, release=release)
    if only_errors(problems):
        raise ConfigValidationError(problems)
    return query
