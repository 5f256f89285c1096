"""The service's state as the status file and the health endpoint show it.

Why: operators and the science side need one answer to "is there a valid proxy, whose, until
when, and what went wrong last" without reading logs; the same snapshot feeds both outputs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

from .durations import format_duration
from .errors import ProxyError
from .proxyfile import ProxyInfo
from .publish import atomic_write


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ServiceState:
    """Thread-safe record of the published proxy and the last renewal outcome."""

    def __init__(self, *, mode: str, out: Path) -> None:
        self._lock = threading.Lock()
        self.mode = mode
        self.out = out
        self.info: ProxyInfo | None = None
        self.last_renewal: dt.datetime | None = None
        self.last_attempt: dt.datetime | None = None
        self.next_renewal: dt.datetime | None = None
        self.renewals = 0
        self.last_error: str | None = None
        self.last_error_code: int | None = None
        self.last_error_at: dt.datetime | None = None
        self.health_url: str | None = None
        self.stopping = False

    def record_success(self, info: ProxyInfo, when: dt.datetime) -> None:
        with self._lock:
            self.info = info
            self.last_renewal = when
            self.last_attempt = when
            self.renewals += 1
            self.last_error = self.last_error_code = self.last_error_at = None

    def record_error(self, error: ProxyError, when: dt.datetime) -> None:
        with self._lock:
            self.last_attempt = when
            self.last_error = error.message
            self.last_error_code = int(error.exit_code)
            self.last_error_at = when

    def withdraw(self, reason: str, code: int, when: dt.datetime) -> None:
        """Forget the published proxy (it expired and was removed)."""
        with self._lock:
            self.info = None
            self.last_error = reason
            self.last_error_code = code
            self.last_error_at = when

    def set_next(self, when: dt.datetime | None) -> None:
        with self._lock:
            self.next_renewal = when

    def healthy(self, now: dt.datetime | None = None) -> tuple[bool, str]:
        """Whether a valid proxy is published right now, and why not."""
        now = now or dt.datetime.now(dt.timezone.utc)
        with self._lock:
            info = self.info
            error = self.last_error
        if info is None:
            return False, error or "no proxy published yet"
        if info.not_after <= now:
            return False, "the published proxy has expired"
        if not self.out.is_file():
            return False, f"{self.out} is missing"
        return True, "ok"

    def snapshot(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """The status document (also served at /status); times are UTC ISO 8601."""
        now = now or dt.datetime.now(dt.timezone.utc)
        ok, reason = self.healthy(now)
        with self._lock:
            info = self.info
            left = None if info is None else max(0.0, info.seconds_left(now))
            return {
                "healthy": ok,
                "reason": None if ok else reason,
                "mode": self.mode,
                "out": str(self.out),
                "subject": None if info is None else info.subject,
                "issuer": None if info is None else info.issuer,
                "identity": None if info is None else info.identity,
                "not_before": None if info is None else _iso(info.not_before),
                "expiry": None if info is None else _iso(info.not_after),
                "expiry_epoch": None if info is None else int(info.not_after.timestamp()),
                "time_left_seconds": None if left is None else round(left, 1),
                "time_left": None if left is None else format_duration(left),
                "last_renewal": _iso(self.last_renewal),
                "last_attempt": _iso(self.last_attempt),
                "next_renewal": _iso(self.next_renewal),
                "renewals": self.renewals,
                "last_error": self.last_error,
                "last_error_code": self.last_error_code,
                "last_error_at": _iso(self.last_error_at),
                "health_url": self.health_url,
                "pid": os.getpid(),
                "stopping": self.stopping,
                "updated": _iso(now),
            }


def write_status_file(path: Path, document: dict[str, Any]) -> None:
    """Atomically (re)write the status JSON; it holds no secrets, so it is world-readable."""
    atomic_write(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode(), mode=0o644)
