"""Load the ``-t`` folder's YAML files, validate them like the code generator does, and
give the physics code uniform access to block instances.

Validation goes through ``topcp_codegen.validation.validate`` so the emulator rejects
exactly what the code generator rejects, with the same ``file:line:col: path: message``
lines. Block instances are normalised to lists of dicts (a block may be written as a
dict or a list) and filtered by the common ``skipOnMC``/``skipOnData``/``onlyForDSIDs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigRejected, EmulatorError

LEVEL_FILES = {"reco": "reco.yaml", "particle": "particle.yaml", "parton": "parton.yaml"}


@dataclass
class LevelConfig:
    """One level's parsed YAML (``reco``, ``particle`` or ``parton``)."""

    level: str
    filename: str
    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def instances(self, block: str, *, is_mc: bool = True, dsid: int | None = None) -> list[dict]:
        """All active instances of ``block`` as dicts, in file order."""
        value = self.data.get(block)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            item = item or {}
            if not isinstance(item, dict):
                continue
            if is_mc and item.get("skipOnMC"):
                continue
            if not is_mc and item.get("skipOnData"):
                continue
            only = item.get("onlyForDSIDs")
            if only and dsid is not None and not _dsid_matches(dsid, only):
                continue
            out.append(item)
        return out

    def first(self, block: str, **kw: Any) -> dict | None:
        items = self.instances(block, **kw)
        return items[0] if items else None

    def blocks(self) -> list[str]:
        return list(self.data)


def _dsid_matches(dsid: int, patterns: list) -> bool:
    for p in patterns:
        if isinstance(p, int) and p == dsid:
            return True
        if isinstance(p, str) and re.fullmatch(p, str(dsid)):
            return True
    return False


def sub_instances(instance: dict, sub: str) -> list[dict]:
    """Instances of a sub-block (e.g. ``WorkingPoint``) inside a block instance."""
    value = instance.get(sub)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [i or {} for i in items if isinstance(i, dict) or i is None]


def _validator():
    """The code generator's validator, or None when that package is not importable."""
    try:
        from topcp_codegen.validation import validate  # type: ignore[attr-defined]
    except ImportError:
        return None
    return validate


def load_configs(folder: str | Path, levels: list[str]) -> dict[str, LevelConfig]:
    """Read and validate the YAMLs for ``levels``; raise ``ConfigRejected`` on any error."""
    base = Path(folder)
    if not base.is_dir():
        raise EmulatorError(
            f"-t/--text-config: folder {folder} does not exist (give the folder holding reco.yaml)"
        )
    texts: dict[str, str] = {}
    for level in levels:
        name = LEVEL_FILES[level]
        path = base / name
        if not path.is_file():
            raise EmulatorError(
                f"PathResolver failed to locate {base.name}/{name}: {path} does not exist "
                f"(needed for the {level} level)"
            )
        texts[name] = path.read_text(encoding="utf-8")

    warnings: list[str] = []
    validate = _validator()
    if validate is None:
        warnings.append(
            "topcp_codegen.validation.validate is not available: configuration not validated"
        )
    else:
        problems = validate(texts)
        errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
        warnings.extend(str(p) for p in problems if getattr(p, "severity", "error") != "error")
        if errors:
            raise ConfigRejected([str(e) for e in errors])

    out: dict[str, LevelConfig] = {}
    for level in levels:
        name = LEVEL_FILES[level]
        try:
            data = yaml.safe_load(texts[name])
        except yaml.YAMLError as exc:
            raise ConfigRejected([f"{name}: not valid YAML: {exc}"]) from exc
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigRejected([f"{name}:1:1: the top level must be a mapping of block names"])
        out[level] = LevelConfig(level, name, data, list(warnings))
        warnings = []  # report validator-level warnings once
    return out
