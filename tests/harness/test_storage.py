"""Storage that lasts and keys that keep requests apart, on the harness's own SeaweedFS.

The harness here has its own SeaweedFS with a small volume cap (24: every request's bucket
takes a volume, so the first harness failed every upload after ~22 requests) and four workers
whose "transform" copies a small ntuple in-process: what is under test is the API, the object
store's lifecycle and the keys, driven through the REST API and the unmodified client's own
adapters; the transform script itself is exercised by the other end-to-end tests.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import uproot
from harness_helpers import wait_for
from servicex import query
from servicex.minio_adapter import MinioAdapter
from servicex.models import ResultFormat, TransformRequest, TransformStatus
from servicex.servicex_adapter import ServiceXAdapter
from topcp_harness import state as st
from topcp_harness.config import HarnessConfig
from topcp_harness.server import Harness
from topcp_harness.storage import key_works
from topcp_science.local_runner import TransformOutcome

pytestmark = pytest.mark.slow

VOLUME_CAP = 24


class CopyRunner:
    """An in-process transform: writes the template ntuple as the output, at once."""

    def __init__(self, template: Path) -> None:
        self.template = template

    def run(self, job, on_line) -> TransformOutcome:
        shutil.copyfile(self.template, job.output)
        on_line(f"copied {self.template.name}")
        size = job.output.stat().st_size
        return TransformOutcome(0, 10, size, None, 0.0, f"Transform stats: Total Events: 10, "
                                                         f"resulting file size {size}")

    def close(self) -> None:
        """Nothing to release."""


class FastHarness(Harness):
    template: Path

    def _make_runner(self, name: str) -> CopyRunner:
        return CopyRunner(self.template)


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fast-harness")
    with uproot.recreate(root / "input.root") as f:
        f["CollectionTree"] = {"x": np.arange(10)}
    with uproot.recreate(root / "template.root") as f:
        f["reco"] = {"x": np.arange(10)}
    (root / "reco.yaml").write_text("CommonServices:\n  runSystematics: False\n")
    h = FastHarness(HarnessConfig(port=0, workers=4, state_dir=root / "state",
                                  data_dirs=(root,), s3_volumes=VOLUME_CAP))
    h.template = root / "template.root"
    h.start()
    yield h, root
    h.stop()


def _request(root: Path, i: int, title: str | None = None) -> TransformRequest:
    """Request ``i``: a query of its own (max_events), so the server cache never answers."""
    sel = query.TopCP(reco=str(root / "reco.yaml"), max_events=i + 1).generate_selection_string()
    return TransformRequest(title=title or f"r{i}", selection=sel, codegen="topcp",
                            result_destination="object-store",
                            result_format=ResultFormat.root_ttree,
                            file_list=[str(root / "input.root")])


def _body(root: Path, i: int) -> dict:
    return _request(root, i).model_dump(by_alias=True, exclude_none=True)


def _deliver_one(session: requests.Session, h: Harness, root: Path, i: int) -> dict:
    r = session.post(f"{h.url}/servicex/transformation", json=_body(root, i), timeout=60)
    assert r.status_code == 200, r.text
    rid = r.json()["request_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # each poll is held until the file is done (<= 3 s)
        status = session.get(f"{h.url}/servicex/transformation/{rid}", timeout=10).json()
        if status["status"] in st.TERMINAL:
            return status
    raise AssertionError(f"request {i} ({rid}) did not finish")


def _aio(coro):
    return asyncio.run(coro)


async def _s3_calls(status: TransformStatus, bucket: str, key: str) -> dict[str, str]:
    """What the client's own aioboto3 session can do with the keys of ``status``."""
    adapter = MinioAdapter.for_transform(status)
    out = {}
    async with adapter.minio.client("s3", endpoint_url=adapter.endpoint_host) as s3:
        for name, call in (
            ("head", lambda: s3.head_object(Bucket=bucket, Key=key)),
            ("get", lambda: s3.get_object(Bucket=bucket, Key=key)),
            ("list", lambda: s3.list_objects_v2(Bucket=bucket)),
            ("put", lambda: s3.put_object(Bucket=bucket, Key="intruder", Body=b"x")),
            ("delete", lambda: s3.delete_object(Bucket=bucket, Key=key)),
        ):
            try:
                await call()
                out[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - the refusal is the result
                out[name] = type(exc).__name__
    return out


def test_each_request_gets_a_read_only_key_for_its_own_bucket(fast):
    h, root = fast
    adapter = ServiceXAdapter(h.url)
    rid_a = _aio(adapter.submit_transform(_request(root, 10_000, "a")))
    rid_b = _aio(adapter.submit_transform(_request(root, 10_001, "b")))
    for rid in (rid_a, rid_b):
        wait_for(lambda r=rid: h.db.request(r)["status"] == st.COMPLETE, 60, "the transform")
    a = _aio(adapter.get_transform_status(rid_a))
    b = _aio(adapter.get_transform_status(rid_b))
    assert a.minio_access_key not in (b.minio_access_key, h.s3.access_key)  # not the admin's
    (obj_a,) = h.store.sizes(rid_a)
    (obj_b,) = h.store.sizes(rid_b)

    # its own bucket: read and list, nothing else
    assert _aio(_s3_calls(a, rid_a, obj_a)) == {"head": "ok", "get": "ok", "list": "ok",
                                               "put": "ClientError", "delete": "ClientError"}
    # another request's bucket: nothing at all
    assert set(_aio(_s3_calls(a, rid_b, obj_b)).values()) == {"ClientError"}
    # and the client's real download path works with it
    path = _aio(MinioAdapter.for_transform(a).download_file(obj_a, str(root / "dl")))
    assert path.stat().st_size == h.store.sizes(rid_a)[obj_a]

    # deleting the request (servicex transforms delete) frees its volume and its key
    free_before = h._seaweed.free_volumes()
    _aio(adapter.delete_transform(rid_a))
    with pytest.raises(ValueError, match="not found"):
        _aio(adapter.get_transform_status(rid_a))
    # (its own bucket is gone too; a missing bucket answers 404 to a valid key, 403 here)
    assert not key_works(h.s3, rid_a, a.minio_access_key, a.minio_secret_key)
    assert not (h.config.state_dir / "requests" / rid_a).exists()
    wait_for(lambda: h._seaweed.free_volumes() > free_before, 10, "the volume to be freed")


def test_finished_requests_expire_after_the_configured_days(fast):
    h, root = fast
    s = requests.Session()
    old = _deliver_one(s, h, root, 20_000)["request_id"]
    new = _deliver_one(s, h, root, 20_001)["request_id"]
    h.db._db.execute("UPDATE requests SET finish_time = '2000-01-01T00:00:00.000000' "
                     "WHERE id = ?", (old,))
    assert h.retention.expire() == [old]
    assert h.db.request(old) is None and h.store.sizes(old) == {}
    assert not (h.config.state_dir / "requests" / old).exists()
    assert h.db.request(new)["status"] == st.COMPLETE


def test_a_thousand_requests_in_a_row_on_one_harness(fast, capsys):
    h, root = fast
    n, lanes = 1000, 8
    results: list[dict] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def lane(k: int) -> None:
        s = requests.Session()
        try:
            for i in range(k, n, lanes):
                status = _deliver_one(s, h, root, i)
                if i % 100 == 0:  # now and then through the client's own S3 download
                    t = TransformStatus(**status)
                    (name,) = [r["s3-object-name"] for r in s.get(
                        f"{h.url}/servicex/transformation/{t.request_id}/results",
                        timeout=10).json()["results"]]
                    _aio(MinioAdapter.for_transform(t).download_file(
                        name, str(root / "downloads" / t.request_id)))
                with lock:
                    results.append(status)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=lane, args=(k,)) for k in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(f"\n{n} requests through one harness in {seconds:.1f} s ({lanes} clients, "
              f"{h.config.worker_count} workers, {VOLUME_CAP} volumes; "
              f"{h.retention.deleted} finished requests deleted to make room)")
    assert not errors, errors[0]
    assert len(results) == n
    assert all((r["status"], r["files-completed"], r["files-failed"]) == ("Complete", 1, 0)
               for r in results)
    # room was made by deleting the oldest finished requests, all the way through
    live = h.db.requests()
    assert h.retention.deleted >= n - VOLUME_CAP
    assert len(live) <= VOLUME_CAP
    assert sorted(p.name for p in (h.config.state_dir / "requests").iterdir()) == \
        sorted(r["id"] for r in live)
    assert (h._seaweed.free_volumes() or 0) >= 1
    assert set(h._seaweed.readers) == {r["id"] for r in live}
    open_attempts = h.db._all("SELECT COUNT(*) AS n FROM attempts WHERE finished IS NULL")
    assert open_attempts == [{"n": 0}]
