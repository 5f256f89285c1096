"""The compose stack end to end: the unmodified servicex 3.3.1 deliver() with a TopCP query
against codegen + harness + S3, science running in the emulated image through the Docker
socket. Needs the stack .ci/docker-e2e starts (skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import docker.errors
import pytest
import uproot
from docker_helpers import client, image_name

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _check_ntuple(path: str) -> None:
    with uproot.open(path) as f:
        assert "reco" in f
        assert "topcp_emulator" in f  # the emulator's marker


def _science_containers() -> list[tuple[str, str]]:
    """(ID, image as named at start) of the harness's running science containers."""
    found = client().containers.list(filters={"label": "topcp-harness=1"})
    return [(c.id, c.attrs["Config"]["Image"]) for c in found]


def _fresh_copy(name: str) -> Path:
    """A new input name, so neither the client's nor the harness's cache answers."""
    data = Path(os.environ["TOPCP_DATA_DIR"])
    dest = data / f"{Path(name).stem}-{uuid.uuid4().hex[:8]}.root"
    shutil.copyfile(data / name, dest)
    dest.chmod(0o644)
    return dest


def test_deliver_over_both_test_files(deliver_files, ttbar_configs):
    data = Path(os.environ["TOPCP_DATA_DIR"])
    inputs = sorted(data.glob("PHYSLITE_*.root"))[:2]
    assert len(inputs) == 2
    files = deliver_files("ttbar", inputs, ttbar_configs["reco"])
    assert len(files) == 2
    for f in files:
        _check_ntuple(f)
    # The work ran in the emulated science image, started by the harness as a sibling.
    assert {img for _, img in _science_containers()} == {image_name("emulated")}


def test_a_config_error_reaches_deliver_as_the_codegen_message(deliver_files, ttbar_configs,
                                                              tmp_path):
    bad = tmp_path / "reco.yaml"
    bad.write_text(ttbar_configs["reco"].read_text() + "\nJetz:\n  - containerName: AnaJets\n")
    data = Path(os.environ["TOPCP_DATA_DIR"])
    with pytest.raises(RuntimeError) as info:  # ServiceX's 500 "Failed to generate ..."
        deliver_files("bad", [data / "PHYSLITE_example.root"], bad, return_exceptions=False)
    assert "Failed to generate translation code" in str(info.value)
    assert "Jetz" in str(info.value) and "reco.yaml" in str(info.value)


def test_killing_the_science_container_mid_file_retries_the_file(deliver_files, ttbar_configs):
    inputs = [_fresh_copy("PHYSLITE_example.root"), _fresh_copy("PHYSLITE_mc23_ttbar_rntuple.root")]
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["files"] = deliver_files("killed", inputs, ttbar_configs["reco"])
        except Exception as exc:  # reported by the assertions below
            result["error"] = exc

    before = {cid for cid, _ in _science_containers()}
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and worker.is_alive():
        for cid, _ in _science_containers():
            if cid in before:
                continue
            try:
                container = client().containers.get(cid)
                top = str(container.top().get("Processes") or "")
            except docker.errors.APIError:  # it ended between list and top
                continue
            if "transform_single_file" in top:
                # A plain kill (SIGKILL to the container) mid-file. Right after it the engine
                # may still say "running" while exec already fails (OCI exit 126): the harness
                # must replace the container on the exec's exit code alone.
                try:
                    container.kill()
                except docker.errors.APIError:
                    pass
                killed = cid
                break
        time.sleep(0.05)
    worker.join(timeout=300)
    assert killed is not None, "never caught a science container in the middle of a file"
    assert "error" not in result, result.get("error")
    files = result["files"]
    assert len(files) == 2
    for f in files:
        _check_ntuple(f)
    for p in inputs:
        p.unlink()


def test_the_sidecar_proxy_reaches_the_science_containers(deliver_files, ttbar_configs):
    """With the x509 profile: x509-proxy republishes the user's proxy into the state folder, the
    harness mounts it at /tmp/grid-security/x509up, and the transform hands it on (mode 600)."""
    if not os.environ.get("TOPCP_STACK_X509"):
        pytest.skip("the stack runs without the x509 profile")
    state = Path(os.environ["TOPCP_STATE_DIR"])
    published = state / "grid-security" / "x509up"
    assert published.stat().st_mode & 0o777 == 0o600
    source = Path(os.environ["TOPCP_X509_SOURCE_DIR"]) / os.environ["TOPCP_X509_SOURCE_NAME"]
    assert published.read_bytes() == source.read_bytes()
    data = _fresh_copy("PHYSLITE_example.root")
    files = deliver_files("x509", [data], ttbar_configs["reco"])
    assert len(files) == 1
    logs = [p for p in state.glob("requests/*/logs/*.log") if data.name in p.read_text()]
    assert logs, "no per-file log mentions the input"
    # The science containers run as root (as in a ServiceX pod), so the transform hands on a
    # private copy of the uid-1000 proxy, as proxy-exporter.sh does in a pod.
    assert any("x509: copied /tmp/grid-security/x509up (mode 600) to " in p.read_text()
               or "x509: using /tmp/grid-security/x509up (mode 600)" in p.read_text()
               for p in logs)
    data.unlink()
