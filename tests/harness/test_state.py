"""The SQLite state: what survives a restart and what the results endpoint returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from topcp_harness import state as st
from topcp_harness.state import StateDB


@pytest.fixture
def db(tmp_path: Path) -> StateDB:
    d = StateDB(tmp_path / "state.sqlite")
    yield d
    d.close()


def _request(db: StateDB, rid: str, key: str = "k", n: int = 3) -> list[int]:
    db.create_request(
        {"id": rid, "title": "t", "did": "file-list", "did_id": db.dataset_for(["/a"]),
         "selection": "{}", "codegen": "topcp", "result_format": "root-file", "image": "img",
         "bundle_dir": "/b", "cache_key": key},
        [(f"/in/{i}.root", f":in:{i}.root") for i in range(n)],
    )
    return [f["id"] for f in db.files(rid)]


def test_in_flight_files_go_back_to_pending_after_a_restart(tmp_path: Path):
    db = StateDB(tmp_path / "s.sqlite")
    f0, f1, _ = _request(db, "r1")
    assert db.start_attempt(f0, "w0", "log") == 1
    db.file_succeeded(f0, total_bytes=10, total_events=5, seconds=1.0)
    assert db.start_attempt(f1, "w1", "log") == 1
    db.close()

    reopened = StateDB(tmp_path / "s.sqlite")
    assert reopened.requeue_in_flight() == 1
    assert [f["id"] for f in reopened.pending_files("r1")] == [f1, _]
    assert reopened.file(f0)["status"] == st.SUCCESS  # finished work is kept
    assert [r["id"] for r in reopened.unfinished_requests()] == ["r1"]
    # the interrupted attempt stays in the history but is not held against the file
    (interrupted,) = reopened.attempts(f1)
    assert interrupted["error"] == st.INTERRUPTED and interrupted["finished"]
    assert reopened.failed_attempts(f1) == 0
    assert reopened.start_attempt(f1, "w0", "log") == 2
    reopened.close()


def test_request_completes_when_no_file_is_open(db: StateDB):
    f0, f1 = _request(db, "r1", n=2)
    db.start_attempt(f0, "w", "l")
    db.file_succeeded(f0, total_bytes=1, total_events=1, seconds=0.1)
    assert not db.finish_if_done("r1")
    db.start_attempt(f1, "w", "l")
    db.file_failed(f1, "ERROR: bad file", 0.1)
    assert db.finish_if_done("r1")
    req = db.request("r1")
    assert req["status"] == st.COMPLETE and req["finish_time"]
    assert db.counts("r1") == {"files": 2, "completed": 1, "failed": 1, "remaining": 0}


def test_a_canceled_request_hands_out_no_more_files(db: StateDB):
    f0, _ = _request(db, "r1", n=2)
    db.set_status("r1", st.CANCELED)
    assert db.start_attempt(f0, "w", "l") is None


def test_results_later_than_includes_files_created_at_that_instant(db: StateDB):
    f0, f1 = _request(db, "r1", n=2)
    for f in (f0, f1):
        db.start_attempt(f, "w", "l")
        db.file_succeeded(f, total_bytes=3, total_events=1, seconds=0.1)
    first = db.results("r1")[0]["created_at"]
    later = db.results("r1", later_than=first)
    assert {r["id"] for r in later} == {f0, f1}
    assert st.parse_time(first + "+00:00") == first


def test_only_fully_successful_or_running_requests_are_reused(db: StateDB):
    (f_ok,) = _request(db, "ok", key="same", n=1)
    db.start_attempt(f_ok, "w", "l")
    db.file_succeeded(f_ok, total_bytes=1, total_events=1, seconds=0.1)
    db.finish_if_done("ok")
    assert db.find_reusable("same")["id"] == "ok"

    (f_bad,) = _request(db, "bad", key="other", n=1)
    db.start_attempt(f_bad, "w", "l")
    db.file_failed(f_bad, "ERROR", 0.1)
    db.finish_if_done("bad")
    assert db.find_reusable("other") is None

    _request(db, "canceled", key="third", n=1)
    db.set_status("canceled", st.CANCELED)
    assert db.find_reusable("third") is None
