"""Render config locations the way users read them: ``Jets[0].PtEtaSelection.minPt``."""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_+]*$")


def format_path(path: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out
