"""The one error type every validator stage reports.

Codegen replies, the emulator and the client CLI all print these, so they share one shape:
compiler-style ``file:line:col: path: message`` that editors and humans both understand.
``rule`` (a stable id, docs/schema.md lists them) and ``note`` (which release/source the rule
comes from, so a user can judge whom to believe) extend the original contract; both default to
None, so older callers and ``str()`` are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class ConfigError:
    """One problem found in one YAML config file.

    ``line`` and ``column`` are 1-based; 0 means the position is unknown (e.g. a missing block).
    ``path`` locates the value inside the config, e.g. ``Jets[0].PtEtaSelection.minPt``.
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"
    suggestion: str | None = None
    rule: str | None = None
    note: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.suggestion and self.suggestion not in self.message:
            text += f" ({self.suggestion})"
        return text

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for ``--json`` output and HTTP replies."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
            "suggestion": self.suggestion,
            "rule": self.rule,
            "note": self.note,
        }
