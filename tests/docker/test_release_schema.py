"""The release schema end to end: dumped in the science image, served by the codegen image.

The production science image (built FROM the stand-in AnalysisBase in CI) runs
dump_release_schema.py at build time and holds ``/topcp-schema.json``; the codegen image,
given that file through ``TOPCP_SCHEMA_FILE``, must validate against it and not against its
packaged schema. The stand-in release declares invented options (``standinDecoration``), so
which schema answered is visible in the replies.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from docker_helpers import client, free_port, require_images, start

pytestmark = pytest.mark.docker

QUERY = {"particle": None, "parton": None, "max_events": 10, "no_systematics": True,
         "no_filter": False}
STANDIN_ONLY = "CommonServices:\n  standinDecoration: 'x'\nOutput:\n  treeName: 'reco'\n"
PACKAGED_ONLY = "CommonServices:\n  filterSystematics: '.*'\nOutput:\n  treeName: 'reco'\n"


@pytest.fixture(scope="module")
def images(engine: None) -> dict[str, str]:
    """Only the two images this needs (docker/build-images.sh codegen standin science)."""
    return require_images(("codegen", "science"))


@pytest.fixture(scope="module")
def release_schema(images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/topcp-schema.json copied out of the science image (never run: docker create + cp)."""
    folder = tmp_path_factory.mktemp("schema")
    folder.chmod(0o755)
    container = client().containers.create(images["science"])
    try:
        stream, _ = container.get_archive("/topcp-schema.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("topcp-schema.json")
            assert member is not None
            (folder / "topcp-schema.json").write_bytes(member.read())
    finally:
        container.remove(force=True, v=True)
    path = folder / "topcp-schema.json"
    path.chmod(0o644)
    return path


def _post(port: int, reco: str) -> tuple[int, dict]:
    body = json.dumps({"code": json.dumps(dict(QUERY, reco=reco))}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/servicex/generated-code", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _wait_up(port: int, container, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            container.reload()
            if container.status not in ("created", "running"):
                logs = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
                raise AssertionError(logs[-2000:]) from None
            time.sleep(0.3)
    raise AssertionError("codegen did not come up")


def test_the_science_image_carries_the_dump_of_its_release(release_schema: Path) -> None:
    from topcp_codegen.validation import Schema, validate

    schema = Schema.from_file(release_schema)
    assert schema.dumped and schema.release == {"analysisbase": "25.2.74",
                                                "topcptoolkit": "v2.23.0"}
    assert "standinDecoration" in schema.defs["opts_CommonServices"]["properties"]
    assert schema.topcp_modules["complete"] is True
    assert [e for e in validate({"reco.yaml": STANDIN_ONLY}, schema=schema)] == []
    (err,) = [e for e in validate({"reco.yaml": PACKAGED_ONLY}, schema=schema)
              if e.severity == "error"]
    assert err.rule == "unknown-option" and "release itself" in err.note


def test_the_codegen_image_validates_against_the_mounted_dump(images, container_ids,
                                                               release_schema: Path) -> None:
    port = free_port()
    container = start(images["codegen"], network_mode="host",
                      environment={"TOPCP_CODEGEN_BIND": f"127.0.0.1:{port}",
                                   "TOPCP_SCHEMA_FILE": "/etc/topcp/release-schema.json"},
                      volumes={str(release_schema): {"bind": "/etc/topcp/release-schema.json",
                                                     "mode": "ro"}})
    container_ids.append(container.id)
    _wait_up(port, container)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/servicex/info", timeout=10) as resp:
        assert json.loads(resp.read())["schema_release"]["analysisbase"] == "25.2.74"
    assert _post(port, STANDIN_ONLY)[0] == 200  # the packaged schema would refuse it
    status, body = _post(port, PACKAGED_ONLY)
    assert status == 400 and "filterSystematics" in body["Message"]
    assert body["errors"][0]["rule"] == "unknown-option"


def test_an_unreadable_schema_file_stops_the_codegen_at_start_up(images, container_ids) -> None:
    port = free_port()
    container = start(images["codegen"], network_mode="host",
                      environment={"TOPCP_CODEGEN_BIND": f"127.0.0.1:{port}",
                                   "TOPCP_SCHEMA_FILE": "/nonexistent/topcp-schema.json"})
    container_ids.append(container.id)
    try:
        container.wait(timeout=60)
    except Exception as exc:  # requests' ReadTimeout: still running after 60 s
        raise AssertionError("the codegen kept running with a missing schema") from exc
    assert "TOPCP_SCHEMA_FILE" in container.logs().decode("utf-8", "replace")
