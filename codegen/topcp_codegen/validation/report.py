"""Collects the findings of one file, placing each at its key or value, with rule and note."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import ConfigError
from .loader import LoadedYaml
from .paths import format_path
from .schema import Schema

Path = tuple[Any, ...]


#: Findings that depend on this file's own text only: still certain when ``include:`` merges
#: fragments into it (TopCPToolkit's mergeYAMLconfig -> athena combineConfigFiles: local keys
#: win, fragments only add keys and list entries).
LOCAL_RULES = frozenset({
    "yaml-syntax", "yaml-limit", "type-mismatch", "enum-value", "none-value", "cut-syntax",
    "jet-collection", "el-id-family", "el-conv-needs-tight", "block-shape", "empty-config"})


class Report:
    """The findings of one level file; ``strict`` turns every warning into an error.

    ``incomplete``: the file includes fragments we cannot see (``include:``), so a finding
    that other blocks could change (a missing option, an unknown block, a reference) is only
    a warning.
    """

    def __init__(self, loaded: LoadedYaml, schema: Schema, *, strict: bool = False) -> None:
        self.loaded = loaded
        self.schema = schema
        self.strict = strict
        self.incomplete = False
        self.errors: list[ConfigError] = []

    def add(self, path: Path, message: str, *, rule: str, severity: str = "error",
            suggestion: str | None = None, note: str | None = None, key: bool = False,
            pos: tuple[int, int] | None = None) -> None:
        line, col = pos or self.loaded.position(path, key=key)
        if self.incomplete and severity == "error" and rule not in LOCAL_RULES:
            severity = "warning"
            message += " (not certain: the included fragments are not checked)"
        if self.strict and severity == "warning":
            severity = "error"
        self.errors.append(ConfigError(
            file=self.loaded.filename, line=line, column=col, path=format_path(path),
            message=message, severity=severity, suggestion=suggestion, rule=rule, note=note))

    def line_pos(self, line: int) -> tuple[int, int]:
        """(line, column of the first non-blank character) of a source line."""
        lines = self.loaded.lines
        if 1 <= line <= len(lines):
            text = lines[line - 1]
            return (line, len(text) - len(text.lstrip()) + 1)
        return (line, 1)


def subs(inst: dict, path: Path, name: str) -> list[tuple[Path, dict]]:
    """The mapping instances of block ``name`` inside ``inst`` (one mapping or a list)."""
    value = inst.get(name)
    if isinstance(value, dict):
        return [(path + (name,), value)]
    if isinstance(value, list):
        return [(path + (name, i), v) for i, v in enumerate(value) if isinstance(v, dict)]
    return []


def instances(data: dict, block: str) -> list[tuple[Path, dict]]:
    """The mapping instances of a top-level block."""
    return subs(data, (), block)


def walk(data: dict, schema: Schema) -> Iterator[tuple[str, Path, dict]]:
    """(block path such as ``Jets.FlavourTagging``, YAML path, instance) of every built-in
    block and sub-block instance, in file order."""
    native = schema.top_level_blocks
    for name in data:
        if not isinstance(name, str) or name not in native:
            continue
        stack = [(name, path, inst) for path, inst in instances(data, name)]
        while stack:
            block, path, inst = stack.pop(0)
            yield block, path, inst
            opts = schema.options_def(f"blk_{block}")
            for sub in schema.subblocks(opts):
                stack[0:0] = [(f"{block}.{sub}", p, i) for p, i in subs(inst, path, sub)]
