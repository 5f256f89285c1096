"""Compiler-style rendering of findings (clang/rustc layout), for terminals and logs.

::

    reco.yaml:62:5: error[unknown-option]: Jets[0].runNNJvtUpdat: unknown option ... for Jets
    62 |     runNNJvtUpdat: True
       |     ^^^^^^^^^^^^^
       = help: did you mean 'runNNJvtUpdate'?
       = note: options of Jets: athena/JetAnalysisConfig@2025, ... (facts/sources.tsv)

The client's ``topcp-sx validate`` prints this; ``str(ConfigError)`` stays the one-line form
the codegen's 400 ``Message`` and the emulator use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .errors import ConfigError

_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s:,\[\]{}#]+""")


def _span(line: str, column: int) -> int:
    """Width of the token starting at 1-based ``column`` (a key, a quoted or plain scalar)."""
    match = _TOKEN.match(line, max(column - 1, 0))
    return max(len(match.group(0)), 1) if match else 1


def _reader(sources: Mapping[str, str] | None) -> Callable[[str], list[str] | None]:
    cache: dict[str, list[str] | None] = {}

    def lines(name: str) -> list[str] | None:
        if name not in cache:
            text = (sources or {}).get(name)
            if text is None and name:
                try:
                    text = Path(name).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    text = None
            cache[name] = None if text is None else text.splitlines()
        return cache[name]

    return lines


def render_one(err: ConfigError, lines: list[str] | None) -> str:
    """One finding: ``file:line:col: severity[rule]: path: message`` (the location first, as
    gcc/clang print it, so editors and grep find it), the source line with a caret under the
    offending token, then ``= help:`` (the fix) and ``= note:`` (where the rule comes from)."""
    head = f"{err.severity}[{err.rule}]" if err.rule else err.severity
    title = f"{err.path}: {err.message}" if err.path else err.message
    where = f"{err.file}:{err.line}:{err.column}: " if err.file else ""
    out = [f"{where}{head}: {title}"]
    gutter = " " * max(len(str(err.line)), 2)
    if lines and 1 <= err.line <= len(lines):
        src = lines[err.line - 1]
        col = max(err.column, 1)
        out += [f"{err.line:>{len(gutter)}} | {src}",
                f"{gutter} | {' ' * (col - 1)}{'^' * _span(src, col)}"]
    if err.suggestion:
        out.append(f"{gutter} = help: {err.suggestion}")
    if err.note:
        out.append(f"{gutter} = note: {err.note}")
    return "\n".join(out)


def render_text(errors: Iterable[ConfigError], sources: Mapping[str, str] | None = None, *,
                summary: bool = True) -> str:
    """All findings, compiler-style, blank-line separated, with a summary line.

    ``sources`` maps a finding's ``file`` to its text; files not given are read from disk
    when they exist (the client's findings name the user's paths).
    """
    errors = list(errors)
    lines = _reader(sources)
    blocks = [render_one(e, lines(e.file)) for e in errors]
    if summary:
        n_err = sum(e.severity == "error" for e in errors)
        n_warn = len(errors) - n_err
        blocks.append(f"{n_err} error(s), {n_warn} warning(s)" if n_err else
                      f"OK: no errors ({n_warn} warning(s))")
    return "\n\n".join(blocks) + "\n"


def render_json(errors: Iterable[ConfigError]) -> str:
    """The machine-readable form: one object per finding (``ConfigError.to_dict``)."""
    return json.dumps([e.to_dict() for e in errors], indent=2) + "\n"
