"""Which schema and severity policy ``validate()`` uses when the caller names none.

A deployment validates against the release its science image runs: the codegen calls
:func:`configure` at start-up with ``TOPCP_SCHEMA_FILE`` (a dump written by
``dump_release_schema.py`` into the science image) and ``TOPCP_VALIDATION_STRICT``. Without
configuration the packaged schema (derived from the 2025-26 declarations) is used.
"""

from __future__ import annotations

from pathlib import Path

from .schema import Schema, packaged_schema

_state: dict[str, object] = {"schema": None, "strict": False}


def active_schema() -> Schema:
    schema = _state["schema"]
    return schema if isinstance(schema, Schema) else packaged_schema()


def default_strict() -> bool:
    return bool(_state["strict"])


def configure(*, schema_file: str | Path | None = None, strict: bool | None = None) -> Schema:
    """Select the schema file (None: the packaged one) and the default strictness.

    Raises :class:`~.schema.SchemaFileError` naming the file when it cannot be used, so a
    service stops at start-up instead of rejecting every request. Returns the active schema.
    ``SCHEMA_RELEASE`` is updated in place to the release the schema describes.
    """
    from . import validator

    schema = Schema.from_file(schema_file) if schema_file else None
    _state["schema"] = schema
    if strict is not None:
        _state["strict"] = bool(strict)
    active = active_schema()
    validator.SCHEMA_RELEASE.clear()
    validator.SCHEMA_RELEASE.update(active.release)
    return active


def reset() -> None:
    """Back to the packaged schema and lenient severities (tests use it)."""
    configure(schema_file=None, strict=False)
