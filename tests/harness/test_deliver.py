"""End to end: the unmodified servicex 3.3.1 deliver() against the harness.

Process runner, the emulated runTop_el.py, the embedded code generator over HTTP, SeaweedFS.
The client polls every 5 s, so each delivery takes at least that long.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import requests
import uproot
from harness_helpers import kill_pid, transform_children, wait_for
from servicex import dataset, deliver, query

pytestmark = pytest.mark.slow


def _spec(name: str, files: list[Path], reco: Path, **sample) -> dict:
    return {"Sample": [{"Name": name, "Dataset": dataset.FileList([str(f) for f in files]),
                        "Query": query.TopCP(reco=str(reco)), **sample}]}


def _check_ntuple(path: str) -> None:
    with uproot.open(path) as f:
        assert "reco" in f
        assert "topcp_emulator" in f  # the emulator's marker


def test_deliver_brings_back_one_ntuple_per_input(harness, sx_client, reco_yaml, testdata_dir):
    cache = sx_client(harness)
    inputs = sorted(testdata_dir.glob("*.root"))
    assert len(inputs) == 2
    result = deliver(_spec("ttbar", inputs, reco_yaml), progress_bar="none")
    files = list(result["ttbar"])
    assert len(files) == 2
    assert {Path(f).name for f in files} == {
        str(p).replace("/", "_") for p in inputs  # ServiceX naming, as the client sanitises it
    }
    for f in files:
        assert Path(f).is_relative_to(cache)
        _check_ntuple(f)

    # The client's own cache: the same query again is answered without a new transform.
    n_requests = len(harness.db.requests())
    again = deliver(_spec("ttbar", inputs, reco_yaml), progress_bar="none")
    assert sorted(again["ttbar"]) == sorted(files)
    assert len(harness.db.requests()) == n_requests

    # The server's cache: ignoring the local cache resubmits, and the harness hands back the
    # finished request at once instead of transforming again.
    fresh = deliver(_spec("ttbar", inputs, reco_yaml), progress_bar="none",
                    ignore_local_cache=True)
    assert sorted(fresh["ttbar"]) == sorted(files)
    assert len(harness.db.requests()) == n_requests


def test_a_config_error_reaches_deliver_as_the_codegen_message(harness, sx_client, tmp_path,
                                                              reco_yaml, physlite_ttree):
    sx_client(harness)
    bad = tmp_path / "reco.yaml"
    bad.write_text(reco_yaml.read_text() + "\nJetz:\n  - containerName: AnaJets\n")
    with pytest.raises(RuntimeError) as info:  # the exception type ServiceX's 500 gives
        deliver(_spec("bad", [physlite_ttree], bad), progress_bar="none",
                return_exceptions=False)
    msg = str(info.value)
    assert msg.startswith("ServiceX WebAPI Error during transformation submission: 500 - "
                          "Something went wrong (Failed to generate translation code: ")
    assert "Jetz" in msg and "reco.yaml" in msg


def test_a_corrupt_input_fails_while_the_good_ones_succeed(harness, sx_client, tmp_path,
                                                          reco_yaml, testdata_dir):
    sx_client(harness)
    corrupt = tmp_path / "corrupt.root"
    corrupt.write_bytes(b"root\x00 this is not a ROOT file" * 50)
    inputs = [*sorted(testdata_dir.glob("*.root")), corrupt]
    result = deliver(_spec("mixed", inputs, reco_yaml), progress_bar="none",
                     fail_if_incomplete=False)
    files = list(result["mixed"])
    assert len(files) == 2 and not any("corrupt" in Path(f).name for f in files)
    for f in files:
        _check_ntuple(f)

    (req,) = [r for r in harness.db.requests() if r["title"] == "mixed"]
    failed = requests.get(f"{harness.url}/servicex/transformation/{req['id']}/results",
                          params={"status": "failure"}, timeout=10).json()["results"]
    assert [r["file-path"] for r in failed] == [str(corrupt)]
    assert failed[0]["attempts"] == 3  # the first try and two retries
    assert failed[0]["info"].startswith("ERROR")
    status = harness.status(req["id"])
    assert (status["files-completed"], status["files-failed"]) == (2, 1)


def test_a_worker_killed_mid_file_is_retried_and_the_request_completes(
        harness, sx_client, tmp_path, reco_yaml, physlite_ttree):
    sx_client(harness)
    victim = tmp_path / "victim.root"
    shutil.copyfile(physlite_ttree, victim)
    killed: list[int] = []

    def kill_first_transform() -> None:
        import os

        pids = wait_for(lambda: [p for p in transform_children(os.getpid())
                                 if str(victim).encode() in Path(f"/proc/{p}/cmdline")
                                 .read_bytes()], 120, "the transform of victim.root", 0.02)
        kill_pid(pids[0])
        killed.append(pids[0])

    killer = threading.Thread(target=kill_first_transform)
    killer.start()
    result = deliver(_spec("killed", [victim], reco_yaml), progress_bar="none")
    killer.join()
    (out,) = list(result["killed"])
    _check_ntuple(out)
    (req,) = [r for r in harness.db.requests() if r["title"] == "killed"]
    (f,) = harness.db.files(req["id"])
    attempts = harness.db.attempts(f["id"])
    assert killed and attempts[0]["returncode"] == -9
    assert attempts[-1]["returncode"] == 0 and f["status"] == "success"
