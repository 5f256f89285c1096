"""Parse human durations such as ``12h``, ``30m``, ``90s``, ``1h30m``, ``12:00`` or ``12``.

Why: grid users think of proxy lifetimes in hours (``voms-proxy-init --valid 12:00``), tests
need seconds; one parser gives every duration option the same forms. A bare number is hours.
"""

from __future__ import annotations

import math
import re

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([dhms])", re.IGNORECASE)
_HHMM = re.compile(r"^(\d+):([0-5]?\d)$")
_NUMBER = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)$")


def parse_duration(text: str, *, option: str = "duration") -> float:
    """Return the duration in seconds; raise ``ValueError`` with a readable message."""
    raw = text.strip()
    if not raw:
        raise ValueError(f"{option}: empty duration; use e.g. 12h, 30m, 90s or 12 (hours)")
    if _NUMBER.match(raw):
        seconds = float(raw) * 3600.0
    elif m := _HHMM.match(raw):
        seconds = int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0
    else:
        pos = 0
        seconds = 0.0
        compact = raw.replace(" ", "")
        for m in _PART.finditer(compact):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2).lower()]
            pos = m.end()
        if pos != len(compact) or pos == 0:
            raise ValueError(
                f"{option}: cannot read {text!r} as a duration; use e.g. 12h, 30m, 90s, "
                "1h30m, 12:00 or a number of hours"
            )
    if not math.isfinite(seconds):
        raise ValueError(f"{option}: {text!r} is not a finite duration")
    return seconds


def format_duration(seconds: float) -> str:
    """Short human form (``11h59m``, ``42s``) for logs and status."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    return f"{m}m{sec:02d}s"
