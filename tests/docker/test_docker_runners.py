"""Both docker runners against the real engine and the emulated science image.

The harness's DockerRunner (one container per worker and request, an exec per file, the log
streamed, a killed container replaced) and ``topcp-sx run --runner docker`` (one container per
file, as the caller's uid), both through the Docker SDK.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import docker.errors
import pytest
import uproot
from docker_helpers import client
from topcp_harness.runners import CONTAINER_LOST_CODES, DockerRunner, Job

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _job(bundle: Path, scratch: Path, data: Path, request: str,
         inputs: tuple[Path, ...] = ()) -> Job:
    """One file of a request; ``inputs`` are all of the request's local files (all mounted)."""
    return Job(request_id=request, bundle_dir=bundle, input=str(data),
               output=scratch / "00001" / data.name, fmt="root-file", scratch_dir=scratch,
               local_inputs=list(inputs or (data,)), image="")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    d = tmp_path / "scratch"
    (d / "00001").mkdir(parents=True)
    for p in (d, d / "00001"):
        p.chmod(0o777)  # the image's uid 1000 writes here, as in a pod's emptyDir
    return d


@pytest.fixture
def runner(images: dict[str, str]):
    r = DockerRunner(f"t{uuid.uuid4().hex[:6]}", image=images["emulated"])
    yield r
    r.close()


def test_the_harness_runner_reuses_one_container_and_streams_the_log(
        runner, bundle_dir, scratch, physlite_ttree, physlite_rntuple):
    request = str(uuid.uuid4())
    both = (physlite_ttree, physlite_rntuple)
    seen: list[str] = []
    first = runner.run(_job(bundle_dir, scratch, physlite_ttree, request, both), seen.append)
    assert first.ok, first.log
    assert first.events == 100 and any(line.startswith("Transform stats:") for line in seen)
    assert "runTop_el.py: EMULATED" in first.log
    container = runner.container
    second = runner.run(_job(bundle_dir, scratch, physlite_rntuple, request, both),
                        lambda line: None)
    assert second.ok, second.log
    assert runner.container == container  # the same container served both files
    for data in (physlite_ttree, physlite_rntuple):
        with uproot.open(scratch / "00001" / data.name) as f:
            assert "reco" in f
    runner.close()
    with pytest.raises(docker.errors.NotFound):
        client().containers.get(container)


def test_a_transform_error_is_the_scripts_exit_code_and_keeps_the_container(
        runner, bundle_dir, scratch, tmp_path):
    bad = tmp_path / "data" / "corrupt.root"
    bad.parent.mkdir()
    bad.write_bytes(b"root\x00" + b"\x17" * 4000)
    bad.parent.chmod(0o755)
    bad.chmod(0o644)
    outcome = runner.run(_job(bundle_dir, scratch, bad, str(uuid.uuid4())), lambda line: None)
    assert not outcome.ok and outcome.returncode not in CONTAINER_LOST_CODES
    assert outcome.error.startswith("ERROR") and "corrupt.root" in outcome.log
    assert client().containers.get(runner.container).status == "running"


def test_a_container_killed_mid_file_is_detected_and_replaced(
        runner, bundle_dir, scratch, physlite_ttree):
    request = str(uuid.uuid4())
    started = threading.Event()

    def on_line(line: str) -> None:
        started.set()

    result = {}
    worker = threading.Thread(target=lambda: result.update(
        outcome=runner.run(_job(bundle_dir, scratch, physlite_ttree, request), on_line)))
    worker.start()
    assert started.wait(120), "the transform never printed a line"
    killed = runner.container
    client().containers.get(killed).kill()
    worker.join(120)
    outcome = result["outcome"]
    assert not outcome.ok and outcome.returncode == 137  # what the engine reports for the exec
    assert runner.container is None  # dropped: the retry must not reuse it
    retry = runner.run(_job(bundle_dir, scratch, physlite_ttree, request), lambda line: None)
    assert retry.ok, retry.log
    assert runner.container not in (None, killed)


def test_topcp_sx_run_in_docker_writes_outputs_owned_by_the_caller(
        images, physlite_ttree, ttbar_configs, tmp_path):
    from topcp_client import run_local

    out = tmp_path / "out"
    (result,) = run_local({"reco": ttbar_configs["reco"]}, [physlite_ttree], out,
                          runner="docker", image=images["emulated"])
    assert result.ok, result.log
    assert result.events_in == 100 and "runTop_el.py: EMULATED" in result.log
    written = out / physlite_ttree.name
    assert written.stat().st_uid == Path(tmp_path).stat().st_uid
    assert [p.name for p in out.iterdir()] == [physlite_ttree.name]
    assert not client().containers.list(all=True, filters={"ancestor": images["emulated"],
                                                           "status": "exited"})
