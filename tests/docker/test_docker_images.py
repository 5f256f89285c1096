"""The images behave as ServiceX, servicex-local and our harness expect.

Science images: every entry form a caller uses (ServiceX 2024: ``bash -c``; newer ServiceX:
``bash --login -c``; servicex-local: ``bash /generated/file_runner.sh``; ours and direct use:
``python3 /generated/transform_single_file.py``) runs a real bundle on a real PHYSLITE file
and writes a TopCP ntuple, as the image's default user (root) and as an arbitrary uid. The
production image is built FROM a stand-in AnalysisBase whose runTop_el.py is reachable only
through /release_setup.sh + the TopCPToolkit setup.sh, so a passing run proves the ATLAS
environment is set up for that entry form.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import uproot
from docker_helpers import free_port, health, make_test_proxy, run, start

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ENTRY_FORMS = {
    "bash-c": ["bash", "-c", "python3 /generated/transform_single_file.py {args}"],
    "bash-login-c": ["bash", "--login", "-c", "python3 /generated/transform_single_file.py {args}"],
    "file_runner": ["bash", "/generated/file_runner.sh", "{in}", "{out}", "{fmt}"],
    "python3": ["python3", "/generated/transform_single_file.py", "{in}", "{out}", "{fmt}"],
}
# servicex-local's file_runner.sh hands the arguments to a Python found on PATH; this one
# does the same with no environment of its own, so the image must provide it.
FILE_RUNNER = '#!/bin/bash\nexec python3 /generated/transform_single_file.py "$@"\n'


def _with_file_runner(bundle_dir: Path, tmp_path: Path) -> Path:
    gen = tmp_path / "generated"
    gen.mkdir()
    for f in bundle_dir.iterdir():
        (gen / f.name).write_bytes(f.read_bytes())
        (gen / f.name).chmod(f.stat().st_mode)
    (gen / "file_runner.sh").write_text(FILE_RUNNER)
    (gen / "file_runner.sh").chmod(0o755)
    gen.chmod(0o755)
    return gen


def run_transform(image: str, form: str, generated: Path, output_dir: Path, data: Path,
                  *, fmt: str = "root-file", user: str | None = None, name: str = "out"):
    args = {"in": f"/data/{data.name}", "out": f"/servicex/output/{name}", "fmt": fmt}
    args["args"] = f"{args['in']} {args['out']} {args['fmt']}"
    command = [part.format(**args) for part in ENTRY_FORMS[form]]
    volumes = {str(generated): {"bind": "/generated", "mode": "ro"},
               str(output_dir): {"bind": "/servicex/output", "mode": "rw"},
               str(data.parent): {"bind": "/data", "mode": "ro"}}
    return run(image, command, network_mode="none", volumes=volumes,
               **({"user": user} if user else {}))


def assert_topcp_ntuple(path: Path, events: int) -> None:
    with uproot.open(path) as f:
        names = {k.split(";")[0] for k in f.keys()}
        assert "reco" in names, f"no reco tree in {sorted(names)}"
        assert "topcp_emulator" in names, "the emulator's marker is missing"
        assert f["reco"].num_entries <= events


@pytest.mark.parametrize("form", list(ENTRY_FORMS))
@pytest.mark.parametrize("kind", ["science", "emulated"])
def test_every_entry_form_transforms_a_real_file(kind, form, images, bundle_dir, output_dir,
                                                 physlite_ttree, tmp_path):
    generated = _with_file_runner(bundle_dir, tmp_path)
    done = run_transform(images[kind], form, generated, output_dir, physlite_ttree)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Transform stats: Total Events: 100, resulting file size" in log
    if kind == "science":
        # The stand-in's runTop_el.py exists only behind the two ATLAS setup scripts.
        assert "runTop_el.py: real" in log, log
        assert "/TopCPToolkit/build/" in log, log
    else:
        assert "runTop_el.py: EMULATED" in log, log
    assert sorted(p.name for p in output_dir.iterdir()) == ["out"]
    assert_topcp_ntuple(output_dir / "out", 100)


@pytest.mark.parametrize("kind", ["science", "emulated"])
def test_an_arbitrary_uid_can_run_it(kind, images, bundle_dir, output_dir, physlite_rntuple,
                                     tmp_path):
    """OpenShift-style random uid (group 0): no home, no passwd entry."""
    generated = _with_file_runner(bundle_dir, tmp_path)
    done = run_transform(images[kind], "python3", generated, output_dir, physlite_rntuple,
                         fmt="root_ttree", user="4242:0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_topcp_ntuple(output_dir / "out", 100)


@pytest.mark.parametrize("kind", ["science", "emulated"])
def test_a_corrupt_input_fails_cleanly(kind, images, bundle_dir, output_dir, tmp_path):
    bad = tmp_path / "data" / "corrupt.root"
    bad.parent.mkdir()
    bad.write_bytes(b"root\x00" + b"\x17" * 4000)
    bad.parent.chmod(0o755)
    bad.chmod(0o644)
    generated = _with_file_runner(bundle_dir, tmp_path)
    done = run_transform(images[kind], "bash-login-c", generated, output_dir, bad)
    assert done.returncode != 0
    errors = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.startswith("ERROR")]
    # ServiceX reports the first ERROR line: it must name the input; the script's own summary
    # (with its exit code) comes last.
    assert errors and "corrupt.root" in errors[0], done.stdout + done.stderr
    assert "[exit " in errors[-1]
    assert list(output_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["science", "emulated"])
def test_science_images_have_what_watch_sh_needs(kind, images):
    probe = ("id -u; command -v nc; command -v jq; command -v python3; command -v python; "
             "echo X509=$X509_USER_PROXY; test -w /servicex/output && echo out-writable")
    done = run(images[kind], ["bash", "-c", probe], network_mode="none")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    # root, as every upstream science image: a pod's sidecar-made folders are 0755 (B1)
    assert lines[0] == "0", "science images run as root by default, as ServiceX needs"
    for tool in ("nc", "jq", "python3", "python"):
        assert any(ln.endswith("/" + tool) for ln in lines), f"no {tool} on PATH"
    assert "X509=/tmp/grid-security/x509up" in lines
    assert "out-writable" in lines


def _wait_healthy(container, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = "starting"
    while time.monotonic() < deadline:
        status = health(container)
        if status in ("healthy", "unhealthy"):
            return status
        time.sleep(0.5)
    return status


def test_codegen_image_serves_the_servicex_protocol(images, container_ids, ttbar_configs):
    port = free_port()
    codegen = start(images["codegen"], network_mode="host",
                    environment={"TOPCP_CODEGEN_BIND": f"127.0.0.1:{port}",
                                 "TRANSFORMER_SCIENCE_IMAGE": "example/science:1"})
    container_ids.append(codegen.id)
    assert _wait_healthy(codegen) == "healthy"
    code, uid = codegen.exec_run(["id", "-u"])
    assert code == 0 and uid.decode().strip() != "0"
    query = {"reco": ttbar_configs["reco"].read_text(), "particle": None, "parton": None,
             "max_events": 10, "no_systematics": True, "no_filter": False}
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/servicex/generated-code",
        data=json.dumps({"code": json.dumps(query)}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("multipart/form-data")
    assert b"example/science:1" in body and b"/generated/transform_single_file.py" in body
    bad = dict(query, reco="Jets:\n  - containerName: [unclosed\n")
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/servicex/generated-code",
        data=json.dumps({"code": json.dumps(bad)}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert "reco.yaml" in json.loads(err.value.read())["Message"]


def test_s3_image_stores_objects_and_checks_credentials(images, container_ids):
    import boto3
    from botocore.exceptions import ClientError

    ports = {}
    while len(set(ports.values())) < 4 or any(p > 55000 for p in ports.values()):
        ports = {k: free_port() for k in ("S3_PORT", "WEED_MASTER_PORT", "WEED_VOLUME_PORT",
                                          "WEED_FILER_PORT")}
    env = {"S3_BIND": "127.0.0.1", "S3_ACCESS_KEY": "ak", "S3_SECRET_KEY": "sk-test",
           **{k: str(v) for k, v in ports.items()}}
    s3_server = start(images["s3"], network_mode="host", environment=env)
    container_ids.append(s3_server.id)
    assert _wait_healthy(s3_server) == "healthy"
    url = f"http://127.0.0.1:{ports['S3_PORT']}"
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="ak",
                      aws_secret_access_key="sk-test", region_name="us-east-1")
    # One bucket per request, as ServiceX does: each is a SeaweedFS collection with volumes of
    # its own, so a small volume limit fails from the third request on.
    for i in range(12):
        s3.create_bucket(Bucket=f"req-{i}")
        s3.put_object(Bucket=f"req-{i}", Key="a:b:file.root", Body=b"payload" * 1000)
    assert s3.get_object(Bucket="req-11", Key="a:b:file.root")["Body"].read() == b"payload" * 1000
    wrong = boto3.client("s3", endpoint_url=url, aws_access_key_id="ak",
                         aws_secret_access_key="nope", region_name="us-east-1")
    with pytest.raises(ClientError):
        wrong.list_buckets()
    started = time.monotonic()
    s3_server.stop()  # the engine's default grace: 10 s, then SIGKILL
    assert time.monotonic() - started < 9, "SeaweedFS must stop before the engine's kill timeout"


def test_x509_image_has_voms_and_the_sidecar(images):
    done = run(images["x509"], ["-c", "id -u; voms-proxy-init --version; topcp-x509-proxy --version"],
               entrypoint=["sh"], network_mode="none")
    assert done.stdout.split()[0] != "0"
    assert "voms-proxy-init" in (done.stdout + done.stderr).lower()


def test_x509_passthrough_republishes_a_proxy_with_mode_600(images, tmp_path, container_ids):
    """The default compose mode: the host's proxy, republished for the science containers."""
    src = tmp_path / "src"
    out = tmp_path / "out"
    src.mkdir()
    out.mkdir()
    out.chmod(0o777)
    proxy = make_test_proxy()
    (src / "x509up").write_bytes(proxy)
    (src / "x509up").chmod(0o600)  # as voms-proxy-init leaves it; the sidecar insists
    src.chmod(0o755)
    # Run as the proxy's owner, as docker-compose.yml does (TOPCP_X509_UID).
    done = run(images["x509"], ["--mode", "passthrough", "--once"], network_mode="none",
               user=f"{os.getuid()}:{os.getgid()}", environment={"X509_PROXY_HEALTH_PORT": "0"},
               volumes={str(src): {"bind": "/run/x509-source", "mode": "ro"},
                        str(out): {"bind": "/tmp/grid-security", "mode": "rw"}})
    assert done.returncode == 0, done.stdout + done.stderr
    published = out / "x509up"
    assert published.read_bytes() == proxy
    assert published.stat().st_mode & 0o777 == 0o600

