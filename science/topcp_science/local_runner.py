"""Run a bundle's ``transform_single_file.py`` on one file, as a transformer pod would.

Used by the test harness's process runner and by ``topcp-sx run``: it starts the bundle's own
script (the exact code ServiceX would run) in a subprocess with this Python, streams its log
line by line to ``on_line`` and turns the ``Transform stats`` and ``ERROR`` lines into a
``TransformOutcome``. Exit codes are those of the script (docs/science.md).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

STATS_RE = re.compile(r"^Transform stats: Total Events: (\d+), resulting file size (\d+)\s*$")
SCRIPT_NAME = "transform_single_file.py"
# How long the script gets after SIGTERM to kill runTop_el.py and clean up before SIGKILL.
TERMINATE_GRACE_S = 15.0


@dataclass(frozen=True)
class TransformOutcome:
    """What one call of the transform script produced.

    ``events``/``size`` come from the stats line (None when it was not printed), ``error`` from
    the script's final ``ERROR`` line (None on success), ``log`` is the whole merged output.
    """

    returncode: int
    events: int | None
    size: int | None
    error: str | None
    seconds: float
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.error is None


def run_transform(
    bundle_dir: str | os.PathLike[str],
    input: str | os.PathLike[str],  # the contract names it so
    output: str | os.PathLike[str],
    *,
    fmt: str = "root-file",
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> TransformOutcome:
    """Run ``<bundle_dir>/transform_single_file.py <input> <output> <fmt>`` and wait for it.

    ``env`` adds to (and overrides) this process's environment. ``timeout`` (seconds) is passed
    to the script as ``TOPCP_TIMEOUT_S``, so the script itself reports a timeout with its own
    exit code; should the script not end by ``timeout + TERMINATE_GRACE_S``, it is sent SIGTERM
    and later SIGKILL. The script runs in its own process group so that no part of it outlives
    the call, also when the caller is interrupted (KeyboardInterrupt).
    """
    script = Path(bundle_dir) / SCRIPT_NAME
    if not script.is_file():
        raise FileNotFoundError(f"{script} not found: {bundle_dir} is not an unpacked bundle")
    child_env = dict(os.environ)
    if env:
        child_env.update(env)
    if timeout is not None:
        child_env["TOPCP_TIMEOUT_S"] = str(timeout)
    child_env["PYTHONUNBUFFERED"] = "1"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script), os.fspath(input), os.fspath(output), fmt],
        env=child_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    watchdog = None
    if timeout is not None:
        watchdog = threading.Timer(timeout + TERMINATE_GRACE_S, _stop, args=(proc,))
        watchdog.daemon = True
        watchdog.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
        returncode = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if proc.stdout is not None:
            proc.stdout.close()
    return parse_outcome(returncode, lines, time.monotonic() - started)


def parse_outcome(returncode: int, lines: list[str], seconds: float) -> TransformOutcome:
    """Read the stats and error out of the script's log lines."""
    events = size = None
    for line in lines:
        m = STATS_RE.match(line)
        if m:
            events, size = int(m.group(1)), int(m.group(2))
    # The script's own ERROR line is its last one; the child's log may hold earlier ERRORs.
    error = next((ln for ln in reversed(lines) if ln.startswith("ERROR: ")), None)
    if returncode != 0 and error is None:
        error = f"transform script exited with code {returncode} without an ERROR line"
    return TransformOutcome(returncode, events, size, error, seconds, "\n".join(lines))


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the script's group (it then kills runTop_el.py), SIGKILL after a grace time."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=TERMINATE_GRACE_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    except ProcessLookupError:
        pass
