"""Small helpers shared by the harness tests (bounded waits, process lookups)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def input_dirs(tmp_path_factory) -> tuple[Path, ...]:
    """Where the tests' inputs live (the harness's data folders): pytest's temporary root
    and the shared test data."""
    shared = Path(os.environ.get("TOPCP_TESTDATA") or REPO_ROOT.parent / "shared" / "testdata")
    return (tmp_path_factory.getbasetemp(), shared)


def wait_for(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.05):
    """Poll until ``predicate()`` is truthy; bounded, fails with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def transform_children(pid: int) -> list[int]:
    """PIDs of ``pid``'s direct children that run transform_single_file.py."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                if b"transform_single_file.py" in Path(f"/proc/{kid}/cmdline").read_bytes():
                    found.append(int(kid))
            except OSError:
                continue
    return found


def kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass

