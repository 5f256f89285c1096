"""Worker pool: what is retried (a lost worker, the object store) and what fails at once.

ServiceX tries each replica of a file once; only a lost pod is re-delivered. The bundle here
is our own tiny, real transform script (not the TopCP one): per input it fails a chosen number
of times, either by a deterministic error (an ERROR line and exit 3) or by being killed
(SIGKILL, like an evicted pod or a killed container), which makes the rules observable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness_helpers import wait_for
from topcp_harness import state as st
from topcp_harness.config import S3Settings
from topcp_harness.runners import ProcessRunner
from topcp_harness.state import StateDB
from topcp_harness.storage import S3Store, StorageError
from topcp_harness.workers import OUTPUT_NAME, RequestPaths, WorkerPool

SCRIPT = '''
import os, pathlib, signal, sys
inp, out, fmt = sys.argv[1:4]
spec = dict(item.split("=") for item in pathlib.Path(inp).read_text().split())
counter = pathlib.Path(__file__).parent / ("count-" + pathlib.Path(inp).name)
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print("attempt", n, "of", inp, "writing", out)
if n <= int(spec["fail"]):
    if spec["how"] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    print("ERROR: planned failure", n)
    sys.exit(3)
pathlib.Path(out).write_bytes(b"transformed " * 100 + pathlib.Path(inp).read_bytes())
print("Transform stats: Total Events: 7, resulting file size", pathlib.Path(out).stat().st_size)
'''


class FlakyStore(S3Store):
    """The real store, whose first ``failures`` uploads fail as boto3 reports a failed upload."""

    def __init__(self, settings: S3Settings, failures: int) -> None:
        super().__init__(settings)
        self.failures = failures

    def upload(self, bucket: str, name: str, path: Path) -> int:
        if self.failures > 0:
            self.failures -= 1
            from boto3.exceptions import S3UploadFailedError

            # what boto3 raises when the store has no room (seen with SeaweedFS 4.48:
            # "Not enough data nodes found!"); S3Store turns it into StorageError
            return self._call("upload", _raise, exc=S3UploadFailedError(
                "Failed to upload: An error occurred (InternalError) when calling the "
                "PutObject operation"))
        return super().upload(bucket, name, path)


def _raise(exc: Exception):
    raise exc


@pytest.fixture
def pool_factory(tmp_path: Path, seaweed: S3Settings):
    made = []

    def make(store: S3Store | None = None, retries: int = 2, make_room=None):
        db = StateDB(tmp_path / "state.sqlite")
        store = store or S3Store(seaweed)
        pool = WorkerPool(db=db, store=store, state_dir=tmp_path, workers=2, retries=retries,
                          make_runner=lambda name: ProcessRunner(), make_room=make_room)
        pool.start()
        made.append((pool, db))
        return db, store, pool

    yield make
    for pool, db in made:
        pool.stop()
        db.close()


def _submit(tmp_path: Path, db: StateDB, store: S3Store, pool: WorkerPool, rid: str,
            specs: list[str]) -> list[dict]:
    paths = RequestPaths(tmp_path, rid)
    paths.bundle.mkdir(parents=True)
    (paths.bundle / "transform_single_file.py").write_text(SCRIPT)
    inputs = []
    for i, spec in enumerate(specs):
        p = tmp_path / "inputs" / f"{rid}-{i}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_text(spec)
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


def test_a_file_whose_transform_fails_is_failed_at_once_and_the_others_succeed(
        tmp_path, pool_factory):
    db, store, pool = pool_factory()
    good, bad = _submit(tmp_path, db, store, pool, "fail-req-0001",
                        ["fail=0 how=error", "fail=99 how=error"])
    assert (good["status"], good["attempts"]) == (st.SUCCESS, 1)
    assert (bad["status"], bad["attempts"]) == (st.FAILURE, 1)  # ServiceX: one try per replica
    assert bad["error"] == "ERROR: planned failure 1"
    assert bad["object_name"] not in store.sizes("fail-req-0001")
    assert db.counts("fail-req-0001") == {"files": 2, "completed": 1, "failed": 1,
                                          "remaining": 0}
    (attempt,) = db.attempts(bad["id"])
    assert attempt["finished"] and attempt["returncode"] == 3
    # no scratch output is left behind
    assert not any(RequestPaths(tmp_path, "fail-req-0001").scratch.iterdir())


def test_a_killed_worker_is_retried_until_the_file_succeeds(tmp_path, pool_factory):
    db, store, pool = pool_factory()
    ok, flaky = _submit(tmp_path, db, store, pool, "retry-req-0001",
                        ["fail=0 how=error", "fail=2 how=killed"])
    assert (ok["status"], ok["attempts"]) == (st.SUCCESS, 1)
    assert (flaky["status"], flaky["attempts"]) == (st.SUCCESS, 3)
    assert [a["returncode"] for a in db.attempts(flaky["id"])] == [-9, -9, 0]
    # total-bytes is the stored object's size, which the client checks after download
    sizes = store.sizes("retry-req-0001")
    assert sizes[flaky["object_name"]] == flaky["total_bytes"] > 0
    assert flaky["total_events"] == 7
    log = Path(db.attempts(flaky["id"])[2]["log_path"]).read_text()
    assert "attempt 3 of" in log and "succeeded after" in log


def test_a_worker_lost_more_often_than_the_retries_allow_fails_the_file(tmp_path, pool_factory):
    db, store, pool = pool_factory(retries=1)
    (f,) = _submit(tmp_path, db, store, pool, "lost-req-0001", ["fail=99 how=killed"])
    assert (f["status"], f["attempts"]) == (st.FAILURE, 2)
    assert "-9" in f["error"]


def test_an_upload_failure_is_retried_after_making_room(tmp_path, pool_factory, seaweed):
    rooms = []
    db, store, pool = pool_factory(store=FlakyStore(seaweed, failures=1),
                                   make_room=lambda: rooms.append(1))
    (f,) = _submit(tmp_path, db, store, pool, "upload-req-0001", ["fail=0 how=error"])
    assert (f["status"], f["attempts"]) == (st.SUCCESS, 2)
    first, second = db.attempts(f["id"])
    assert "S3UploadFailedError" in first["error"] or "Failed to upload" in first["error"]
    assert first["finished"] and second["returncode"] == 0
    assert rooms == [1]


def test_outputs_have_short_scratch_names_whatever_the_object_name(tmp_path, pool_factory):
    db, store, pool = pool_factory()
    (f,) = _submit(tmp_path, db, store, pool, "name-req-0001", ["fail=0 how=error"])
    log = Path(db.attempts(f["id"])[0]["log_path"]).read_text()
    written = log.split("writing ", 1)[1].split()[0]
    assert Path(written).name == OUTPUT_NAME and Path(written).parent.name == "00000-1"
    assert f["object_name"] in store.sizes("name-req-0001")  # the S3 key is the ServiceX name


@pytest.mark.parametrize("transfer", ["one PUT", "boto3 transfer"])
def test_a_refused_upload_becomes_a_storage_error(seaweed, tmp_path, monkeypatch, transfer):
    # boto3's transfer raises S3UploadFailedError, a Boto3Error: neither ClientError nor
    # BotoCoreError, so the first harness let it through as an "internal harness error"
    # (here the store refuses a key it does not know)
    from dataclasses import replace

    from topcp_harness import storage

    if transfer == "boto3 transfer":
        monkeypatch.setattr(storage, "SINGLE_PUT_MAX", -1)
    store = S3Store(replace(seaweed, secret_key="not-the-secret"))
    out = tmp_path / "out.root"
    out.write_bytes(b"x" * 10)
    expected = "Failed to upload" if transfer == "boto3 transfer" else "SignatureDoesNotMatch"
    with pytest.raises(StorageError, match=f"upload of x at .* failed: .*{expected}"):
        store.upload("any-bucket", "x", out)
