"""The standalone harness process: its servicex.yaml snippet, and resuming after a restart.

Runs ``python -m topcp_harness`` with its own SeaweedFS (the default S3) and one worker, stops
it while a request is half done, by SIGTERM (a clean stop) or by SIGKILL (a crash: its weed
dies with it, its in-flight transform is left over), starts it again on the same state folder
with no hand action in between, and lets the unmodified deliver() collect the result.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import uproot
from harness_helpers import wait_for
from servicex import dataset, deliver, query

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Standalone:
    """``python -m topcp_harness`` as a child process, stopped by its PID."""

    def __init__(self, port: int, state: Path, log: Path, data: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.cmd = [sys.executable, "-m", "topcp_harness", "--port", str(port), "--workers", "1",
                    "--state-dir", str(state), "--data-dir", str(data)]
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"harness exited: {self.log.read_text()[-3000:]}")
            try:
                return requests.get(self.url + "/servicex", timeout=2).ok
            except requests.RequestException:
                return False

        wait_for(ready, 120, "the standalone harness to answer", 0.2)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            raise AssertionError("harness did not stop within 60 s of SIGTERM") from None


@pytest.fixture
def standalone(tmp_path: Path):
    h = Standalone(_free_port(), tmp_path / "state", tmp_path / "harness.log", tmp_path)
    yield h
    h.stop()
    # shown by pytest only when the test failed
    if h.log.exists():
        print("---- harness log (tail) ----\n" + h.log.read_text(errors="replace")[-6000:])


def _transforms_of(state: Path) -> list[int]:
    """PIDs of transform scripts running from bundles under ``state``."""
    marker = str(state / "requests").encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and b"transform_single_file.py" in cmd and marker in cmd:
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_restart_mid_request_finishes_without_redoing_finished_files(
        how: str, standalone: Standalone, tmp_path: Path, reco_yaml: Path,
        physlite_ttree: Path, monkeypatch: pytest.MonkeyPatch):
    inputs = []
    for name in "abcd":
        p = tmp_path / "inputs" / f"{name}.root"
        p.parent.mkdir(exist_ok=True)
        shutil.copyfile(physlite_ttree, p)
        inputs.append(str(p))
    sample = {"Name": "resume", "Dataset": dataset.FileList(inputs),
              "Query": query.TopCP(reco=str(reco_yaml))}

    standalone.start()
    snippet = standalone.log.read_text()
    assert f"endpoint: {standalone.url}" in snippet and "cache_path:" in snippet
    body = {"title": "resume", "file-list": inputs, "codegen": "topcp",
            "selection": sample["Query"].generate_selection_string(),
            "result-destination": "object-store", "result-format": "root-file"}
    rid = requests.post(standalone.url + "/servicex/transformation", json=body,
                        timeout=60).json()["request_id"]

    def status() -> dict:
        return requests.get(f"{standalone.url}/servicex/transformation/{rid}", timeout=10).json()

    wait_for(lambda: status()["files-completed"] >= 1, 180, "the first file", 0.1)
    endpoint = status()["minio-endpoint"]
    state = tmp_path / "state"
    if how == "SIGTERM":
        assert standalone.stop() == 0
    else:
        weed = json.loads((state / "s3" / "weed.pid").read_text())["pid"]
        in_flight = wait_for(lambda: _transforms_of(state), 60, "a transform in flight", 0.02)
        assert standalone.stop(signal.SIGKILL) == -signal.SIGKILL
        # its SeaweedFS went with it (parent-death signal); its transform is left over
        wait_for(lambda: _gone(weed), 10, "the crashed harness's weed to die with it")
    # the harness is down: read what it recorded straight from its database
    with sqlite3.connect(tmp_path / "state" / "state.sqlite") as db:
        done = dict(db.execute("SELECT path, created_at FROM files WHERE status = 'success'"))
        open_ = db.execute("SELECT COUNT(*) FROM files WHERE status != 'success'").fetchone()[0]
    assert 1 <= len(done) < 4 and open_ >= 1, "the request must be stopped half way"

    standalone.start()  # no hand action: nothing was cleaned up in between
    if how == "SIGKILL":  # the left-over transform was stopped by the new harness
        wait_for(lambda: all(_gone(p) for p in in_flight), 30, "the orphan transform to stop")
    # same S3 endpoint: a client polling across the restart keeps the one it first saw
    assert status()["minio-endpoint"] == endpoint
    (tmp_path / "servicex.yaml").write_text(
        f"api_endpoints:\n  - endpoint: {standalone.url}\n    name: local\n"
        f"cache_path: {tmp_path / 'cache'}\n")
    monkeypatch.chdir(tmp_path)
    # deliver() submits the same query; the harness attaches it to the resumed request
    result = deliver({"Sample": [sample]}, progress_bar="none")
    files = list(result["resume"])
    assert len(files) == 4
    assert {Path(f).parent.name for f in files} == {rid}
    for f in files:
        with uproot.open(f) as out:
            assert "reco" in out and "topcp_emulator" in out

    results = requests.get(f"{standalone.url}/servicex/transformation/{rid}/results",
                           timeout=10).json()["results"]
    by_path = {r["file-path"]: r for r in results}
    for path, created in done.items():  # finished before the restart: untouched
        assert by_path[path]["created_at"] == created
        assert by_path[path]["attempts"] == 1
