"""Transforms left running by a killed harness are stopped by their own PIDs, and only they.

``reclaim_orphans`` finds them by command line (the bundle's script under
``<state>/requests/``), sends SIGTERM, and SIGKILL after a grace period. The SIGKILL must go
only to those still running, each checked again just before: one that exited on SIGTERM
may have handed its PID to an unrelated process meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness_helpers import wait_for
from topcp_harness import workers

_SCRIPT = """import os, signal, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[2], "w").close()
time.sleep(120)
"""


def _fake_transform(state: Path, name: str) -> subprocess.Popen:
    script = state / "requests" / f"req-{name}" / "generated" / "transform_single_file.py"
    script.parent.mkdir(parents=True)
    script.write_text(_SCRIPT)
    ready = state / f"{name}.ready"
    proc = subprocess.Popen([sys.executable, str(script), name, str(ready)])
    wait_for(ready.exists, 30, f"the {name} transform to start")
    return proc


def test_sigkill_goes_only_to_transforms_that_survived_sigterm(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    state = tmp_path / "state"
    polite = _fake_transform(state, "polite")
    stubborn = _fake_transform(state, "stubborn")
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    sent: list[tuple[int, int]] = []
    real_kill = os.kill

    def recording_kill(pid: int, sig: int) -> None:
        sent.append((pid, sig))
        real_kill(pid, sig)

    monkeypatch.setattr(workers.os, "kill", recording_kill)
    try:
        stopped = workers.reclaim_orphans(state, grace=1.0)
        monkeypatch.setattr(workers.os, "kill", real_kill)
        assert sorted(stopped) == sorted([polite.pid, stubborn.pid])
        assert polite.wait(10) == -signal.SIGTERM
        assert stubborn.wait(10) == -signal.SIGKILL
        assert sorted(sent) == sorted([(polite.pid, signal.SIGTERM),
                                       (stubborn.pid, signal.SIGTERM),
                                       (stubborn.pid, signal.SIGKILL)])
        assert bystander.poll() is None  # not ours: untouched
    finally:
        for proc in (polite, stubborn, bystander):
            if proc.poll() is None:
                real_kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
