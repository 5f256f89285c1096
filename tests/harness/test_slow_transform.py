"""A transform that runs longer than the client's patience for one status reply.

servicex 3.3.1 reads each status reply with httpx's default 5 s timeout and retries a timeout
(httpx-retries, then tenacity): a server that holds replies longer makes every held poll time
out, and ``deliver()`` died with ``httpx.ReadTimeout`` after ~5 minutes without a finished
file (measured with the 8 s hold of the first harness). Real files take minutes; here a
runTop_el.py that sleeps first (``RUNTOP_EL``, which the science script honours) stands in
for one, and the test checks that no status request had to be retried.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from servicex import dataset, deliver, query
from topcp_harness.config import MAX_STATUS_HOLD_S

pytestmark = pytest.mark.slow

SLOW_S = 8.0  # longer than the client's 5 s read timeout and than the harness's hold


@pytest.fixture
def slow_runtop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    emulator = Path(sys.executable).with_name("topcp-emulate")
    stub = tmp_path / "topcp-emulate-slow"
    stub.write_text(f"#!{sys.executable}\n"
                    "import os, sys, time\n"
                    f"time.sleep({SLOW_S})\n"
                    f"os.execv({str(emulator)!r}, [{str(emulator)!r}, *sys.argv[1:]])\n")
    stub.chmod(0o755)
    monkeypatch.setenv("RUNTOP_EL", str(stub))
    return stub


def test_deliver_survives_a_transform_longer_than_the_status_timeout(
        harness, sx_client, reco_yaml, physlite_ttree, slow_runtop, caplog):
    assert harness.config.status_hold == MAX_STATUS_HOLD_S  # the default, and the most allowed
    sx_client(harness)
    caplog.set_level(logging.DEBUG, logger="httpx_retries")
    spec = {"Sample": [{"Name": "slow", "Dataset": dataset.FileList([str(physlite_ttree)]),
                        "Query": query.TopCP(reco=str(reco_yaml), max_events=10)}]}
    (out,) = list(deliver(spec, progress_bar="none", return_exceptions=False)["slow"])
    assert Path(out).is_file()
    (req,) = [r for r in harness.db.requests() if r["title"] == "slow"]
    (f,) = harness.db.files(req["id"])
    assert f["seconds"] >= SLOW_S  # it really was slower than the client's patience
    retried = [r.getMessage() for r in caplog.records
               if "retrying" in r.getMessage() and "/servicex/transformation/" in r.getMessage()]
    assert retried == [], "status polls timed out and were retried:\n" + "\n".join(retried)
