"""End to end: the unmodified servicex 3.3.1 deliver() against the harness.

Process runner, the emulated runTop_el.py, the embedded code generator over HTTP, SeaweedFS.
The client polls every 5 s, so each delivery takes at least that long.
"""

from __future__ import annotations

import random
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


def _bad_inputs(folder: Path, good: Path) -> dict[str, Path]:
    """Inputs a physicist might really submit by mistake, each failing deterministically."""
    folder.mkdir(exist_ok=True)
    data = good.read_bytes()
    truncated = folder / "truncated.root"  # an interrupted copy
    truncated.write_bytes(data[: len(data) // 2])
    text = folder / "passwd.root"  # text that happens to start with 'root'
    text.write_text("root:x:0:0:root:/root:/bin/bash\n" * 40)
    middle = folder / "corrupt_middle.root"  # header and key list fine, baskets not
    rng = random.Random(13)
    mid = len(data) // 3
    middle.write_bytes(data[:mid] + bytes(rng.randrange(256) for _ in range(200_000))
                       + data[mid + 200_000:])
    other = folder / "not_physlite.root"  # a ROOT file, but not a DAOD
    with uproot.recreate(other) as f:
        f["events"] = {"x": [1.0, 2.0, 3.0]}
    return {"truncated": truncated, "text": text, "middle": middle, "other": other}


def test_a_corrupt_input_among_good_ones_is_reported_with_its_cause(
        harness, sx_client, tmp_path, reco_yaml, testdata_dir):
    from servicex.app.transforms import LogLevel, TimeFrame, create_kibana_link_parameters
    from topcp_client.delivery import deliver as topcp_deliver

    sx_client(harness)
    good = sorted(testdata_dir.glob("*.root"))
    bad = _bad_inputs(tmp_path / "bad", good[0])
    spec = _spec("mixed", [*good, *bad.values()], reco_yaml)
    (sample,) = topcp_deliver(spec, backend=None, config_path=None)

    # the good files come back; every bad one is named with the first line that says why
    assert len(sample.files) == 2 and not sample.ok
    for f in sample.files:
        _check_ntuple(f)
    assert (sample.failed_count, sample.total) == (4, 6)
    reasons = {Path(f.path).name: f.reason for f in sample.failed}
    assert set(reasons) == {p.name for p in bad.values()}
    assert "is not a readable ROOT file (file is truncated" in reasons["truncated.root"]
    assert "[exit 4: unreadable input]" in reasons["truncated.root"]
    assert "is not a readable ROOT file" in reasons["passwd.root"]
    assert "[exit 4: unreadable input]" in reasons["passwd.root"]
    assert "is not PHYSLITE" in reasons["not_physlite.root"]
    # damage past the header only shows while reading: the reader's exception line, not the
    # last line of its multi-line message
    assert "DeserializationError: while reading" in reasons["corrupt_middle.root"]

    # deterministic input errors fail at once: one attempt each, like one replica on ServiceX
    rid = sample.request_id
    failed = requests.get(f"{harness.url}/servicex/transformation/{rid}/results",
                          params={"status": "failure"}, timeout=10).json()["results"]
    assert sorted(r["attempts"] for r in failed) == [1, 1, 1, 1]

    # the link servicex prints for the failed files resolves (werkzeug merges its '//')
    link = harness.url + "/transformation-request/" + f"/{rid}/results?status=failure"
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    for p in bad.values():
        assert str(p) in page.text
    assert str(good[0]) not in page.text
    # and so does the logs link built from log-url, as `servicex transforms logs` builds it
    status = requests.get(f"{harness.url}/servicex/transformation/{rid}", timeout=10).json()
    logs_link = create_kibana_link_parameters(status["log-url"], rid, LogLevel.error,
                                              TimeFrame.month)
    logs = requests.get(logs_link, timeout=10)
    assert logs.status_code == 200
    assert "truncated.root" in logs.text and "[exit 4: unreadable input]" in logs.text
    assert str(good[0]) not in logs.text  # level=error: the failed files only


def test_a_300_character_input_path_is_delivered(harness, sx_client, tmp_path, reco_yaml,
                                                 physlite_ttree):
    # The object name is the path with '/' -> ':' (255 characters at most); the harness's
    # scratch file must not be named after it, or the transform's temporary name passes
    # NAME_MAX (issue #12: every path of 241+ characters failed).
    folder = tmp_path
    while len(str(folder)) < 300 - 60:
        folder = folder / ("d" * min(60, 300 - 60 - len(str(folder))))
    long_input = folder / ("DAOD_PHYSLITE." + "x" * (300 - len(str(folder)) - 20) + ".root")
    long_input.parent.mkdir(parents=True)
    shutil.copyfile(physlite_ttree, long_input)
    assert len(str(long_input)) == 300
    cache = sx_client(harness)
    spec = {"Sample": [{"Name": "long", "Dataset": dataset.FileList([str(long_input)]),
                        "Query": query.TopCP(reco=str(reco_yaml), max_events=10)}]}
    (out,) = list(deliver(spec, progress_bar="none")["long"])
    _check_ntuple(out)
    assert Path(out).is_relative_to(cache)


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
