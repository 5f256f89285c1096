"""Status replies that would only repeat the previous one wait for the next change.

servicex 3.3.1 downloads on its own 5 s loop from the status its status loop fetched last; a
repeated reply costs the user a whole period. These tests drive the hold with a scripted status
sequence (by call count, not by the clock).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from topcp_harness.config import HarnessConfig
from topcp_harness.server import Harness

RID = "0a60d26c-50a0-4704-8c00-f6e230006ba8"


def _status(state: str = "Running", completed: int = 0, failed: int = 0) -> dict:
    return {"request_id": RID, "status": state, "files-completed": completed,
            "files-failed": failed, "files": 2}


class Scripted:
    """Replies from ``sequence``, repeating its last entry; counts the calls."""

    def __init__(self, *sequence: dict) -> None:
        self.sequence = list(sequence)
        self.calls = 0

    def __call__(self, request_id: str) -> dict:
        assert request_id == RID
        reply = self.sequence[min(self.calls, len(self.sequence) - 1)]
        self.calls += 1
        return reply


def _harness(tmp_path: Path, hold: float, script: Scripted, served: dict | None) -> Harness:
    h = Harness(HarnessConfig(port=0, state_dir=tmp_path, status_hold=hold))
    h.status = script  # type: ignore[method-assign]
    if served is not None:
        h._remember_served(served)
    return h


def test_a_repeat_of_the_last_reply_waits_for_the_next_finished_file(tmp_path: Path):
    script = Scripted(_status(), _status(), _status(), _status(completed=1))
    h = _harness(tmp_path, 3.0, script, served=_status())
    assert h.status_for_client(RID)["files-completed"] == 1
    assert script.calls == 4
    # that reply is now what the client has seen
    assert h._served[RID] == ("Running", 1, 0)


def test_a_changed_reply_is_answered_at_once(tmp_path: Path):
    script = Scripted(_status(completed=1))
    h = _harness(tmp_path, 3.0, script, served=_status())
    assert h.status_for_client(RID)["files-completed"] == 1 and script.calls == 1


@pytest.mark.parametrize("state", ["Complete", "Canceled", "Fatal"])
def test_a_terminal_status_is_never_held(tmp_path: Path, state: str):
    script = Scripted(_status(state, completed=2))
    h = _harness(tmp_path, 3.0, script, served=_status(state, completed=2))
    assert h.status_for_client(RID)["status"] == state and script.calls == 1


def test_the_first_reply_after_a_restart_is_not_held(tmp_path: Path):
    script = Scripted(_status())
    h = _harness(tmp_path, 3.0, script, served=None)
    assert h.status_for_client(RID) == _status() and script.calls == 1


def test_hold_zero_answers_like_a_servicex_server(tmp_path: Path):
    script = Scripted(_status(), _status(completed=1))
    h = _harness(tmp_path, 0.0, script, served=_status())
    assert h.status_for_client(RID)["files-completed"] == 0 and script.calls == 1


def test_after_the_hold_the_unchanged_status_is_returned(tmp_path: Path):
    script = Scripted(_status())
    h = _harness(tmp_path, 0.2, script, served=_status())
    assert h.status_for_client(RID) == _status()
    assert script.calls > 1  # it did look again before giving up


@pytest.mark.parametrize("hold", [-1, 3.5, 8.0])
def test_a_hold_outside_0_to_3_s_is_a_configuration_error(tmp_path: Path, hold: float):
    # servicex 3.3.1 reads the status with httpx's default 5 s timeout: a longer hold would
    # make every held poll time out, and deliver() die after ~5 min without a finished file.
    with pytest.raises(ValueError, match="status_hold must be 0 to 3 seconds.*5 s timeout"):
        HarnessConfig(port=0, state_dir=tmp_path, status_hold=hold)
