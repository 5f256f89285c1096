"""Worker pool: retries, failure after the last attempt, uploads and per-attempt logs.

The bundle here is our own tiny, real transform script (not the TopCP one): it fails a chosen
number of times per input before it succeeds, which makes the retry rules observable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness_helpers import wait_for
from topcp_harness import state as st
from topcp_harness.config import S3Settings
from topcp_harness.runners import ProcessRunner
from topcp_harness.state import StateDB
from topcp_harness.storage import S3Store
from topcp_harness.workers import RequestPaths, WorkerPool

SCRIPT = '''
import pathlib, sys
inp, out, fmt = sys.argv[1:4]
text = pathlib.Path(inp).read_text()
fail_times = int(text.split("fail-times:")[1].split()[0])
counter = pathlib.Path(__file__).parent / ("count-" + pathlib.Path(inp).name)
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print("attempt", n, "of", inp)
if n <= fail_times:
    print("ERROR: planned failure", n)
    sys.exit(3)
pathlib.Path(out).write_bytes(b"transformed " * 100 + text.encode())
print("Transform stats: Total Events: 7, resulting file size", pathlib.Path(out).stat().st_size)
'''


@pytest.fixture
def setup(tmp_path: Path, seaweed: S3Settings):
    db = StateDB(tmp_path / "state.sqlite")
    store = S3Store(seaweed)
    pool = WorkerPool(db=db, store=store, state_dir=tmp_path, workers=2, retries=2,
                      make_runner=lambda name: ProcessRunner())
    pool.start()
    yield tmp_path, db, store, pool
    pool.stop()
    db.close()


def _submit(tmp_path: Path, db: StateDB, store: S3Store, pool: WorkerPool, rid: str,
            fail_times: list[int]) -> list[dict]:
    paths = RequestPaths(tmp_path, rid)
    paths.bundle.mkdir(parents=True)
    (paths.bundle / "transform_single_file.py").write_text(SCRIPT)
    inputs = []
    for i, k in enumerate(fail_times):
        p = tmp_path / "inputs" / f"{rid}-{i}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_text(f"fail-times: {k}\n")
        inputs.append(str(p))
    store.ensure_bucket(rid)
    db.create_request(
        {"id": rid, "title": rid, "did": "file-list", "did_id": db.dataset_for(inputs),
         "selection": "{}", "codegen": "topcp", "result_format": "root-file", "image": "img",
         "bundle_dir": str(paths.bundle), "cache_key": rid},
        [(p, p.replace("/", ":")) for p in inputs],
    )
    pool.submit([f["id"] for f in db.files(rid)])
    wait_for(lambda: db.request(rid)["status"] == st.COMPLETE, 60, "the request to complete")
    return db.files(rid)


def test_a_file_that_fails_twice_succeeds_on_its_third_attempt(setup):
    tmp_path, db, store, pool = setup
    ok, flaky = _submit(tmp_path, db, store, pool, "retry-req-0001", [0, 2])
    assert (ok["status"], ok["attempts"]) == (st.SUCCESS, 1)
    assert (flaky["status"], flaky["attempts"]) == (st.SUCCESS, 3)
    # total-bytes is the stored object's size, which the client checks after download
    sizes = store.sizes("retry-req-0001")
    assert sizes[flaky["object_name"]] == flaky["total_bytes"] > 0
    assert flaky["total_events"] == 7
    attempts = db.attempts(flaky["id"])
    assert [a["returncode"] for a in attempts] == [3, 3, 0]
    assert "planned failure 1" in attempts[0]["error"]
    log = Path(attempts[2]["log_path"]).read_text()
    assert "attempt 3 of" in log and "succeeded after" in log


def test_a_file_failing_every_attempt_is_reported_failed_and_others_still_succeed(setup):
    tmp_path, db, store, pool = setup
    good, bad = _submit(tmp_path, db, store, pool, "fail-req-0001", [0, 99])
    assert good["status"] == st.SUCCESS
    assert (bad["status"], bad["attempts"]) == (st.FAILURE, 3)
    assert bad["error"] == "ERROR: planned failure 3"
    assert bad["object_name"] not in store.sizes("fail-req-0001")
    assert db.counts("fail-req-0001") == {"files": 2, "completed": 1, "failed": 1,
                                          "remaining": 0}
    # no scratch output is left behind
    assert not any(RequestPaths(tmp_path, "fail-req-0001").scratch.rglob(":*"))
