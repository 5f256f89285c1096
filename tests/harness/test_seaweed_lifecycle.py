"""The harness owns its SeaweedFS: a stale one of its state folder is reclaimed, nothing else.

After ``kill -9`` of the first harness its ``weed`` kept the filer's leveldb lock and every
restart died with "SeaweedFS exited with code 255" until the user found and killed it. Now
weed dies with its harness (parent-death signal) and, should one still be around (no record,
another harness version), a start stops a ``weed`` whose command line names this data folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness_helpers import wait_for
from topcp_harness.seaweed import SeaweedServer
from topcp_harness.storage import S3Store

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("record", ["with its pid record", "without a record"])
def test_a_start_reclaims_a_weed_left_running_on_its_folder(tmp_path: Path, record: str):
    first = SeaweedServer(tmp_path / "s3")
    settings = first.start()
    store = S3Store(settings)
    store.ensure_bucket("kept")
    store._client.put_object(Bucket="kept", Key="x", Body=b"data")
    stale = first.proc.pid
    if record == "without a record":
        first.pid_file.unlink()
    # the harness that owned `first` is gone without stopping it; a new one starts
    second = SeaweedServer(tmp_path / "s3")
    try:
        settings2 = second.start()
        assert second.reclaimed == [stale]
        wait_for(lambda: not _alive(stale), 10, "the stale weed to be gone")
        # same data, same endpoint: a client that polled across the restart keeps working
        assert settings2.endpoint == settings.endpoint
        assert S3Store(settings2).sizes("kept") == {"x": 4}
        assert json.loads(second.pid_file.read_text())["pid"] == second.proc.pid
    finally:
        second.stop()
        first.proc = None  # already stopped by second
    assert not second.pid_file.exists()


def test_a_pid_record_of_another_program_is_left_alone(tmp_path: Path):
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        root = tmp_path / "s3"
        root.mkdir()
        (root / "weed.pid").write_text(json.dumps({"pid": other.pid, "start": "0"}))
        server = SeaweedServer(root)
        server.start()
        try:
            assert server.reclaimed == [] and other.poll() is None
        finally:
            server.stop()
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait()


def test_weed_dies_with_the_process_that_started_it(tmp_path: Path):
    # a harness-like parent process that is killed with SIGKILL
    script = ("import sys, time\n"
              "from pathlib import Path\n"
              "from topcp_harness.seaweed import SeaweedServer\n"
              "s = SeaweedServer(Path(sys.argv[1])); s.start()\n"
              "print(s.proc.pid, flush=True)\n"
              "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "s3")],
                              stdout=subprocess.PIPE, text=True)
    try:
        weed = int(parent.stdout.readline())
        assert _alive(weed)
        parent.kill()
        parent.wait(timeout=30)
        wait_for(lambda: not _alive(weed), 10, "weed to die with its parent (PR_SET_PDEATHSIG)")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
