"""The code generator under real gunicorn, answering a servicex 3.3.1 TopCPQuery over TCP.

The server is started from ``codegen/gunicorn.conf.py`` on a free 127.0.0.1 port, and
stopped by its PID.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "codegen" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_url(tmp_path: Path):
    port = free_port()
    env = dict(
        os.environ,
        TOPCP_CODEGEN_BIND=f"127.0.0.1:{port}",
        TOPCP_CODEGEN_WORKERS="1",
        TRANSFORMER_SCIENCE_IMAGE="sslhep/servicex_science_image_topcp:25.2.74-v2.23.0",
    )
    env.pop("ALLOWED_DOCKER_REGISTRIES", None)
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF)],
        cwd=tmp_path,  # the app must not depend on its working directory
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited: {(tmp_path / 'gunicorn.log').read_text()}")
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_gunicorn_serves_a_servicex_query(
    gunicorn_url, sx_query, example_texts, decode, acceptance_reco, check_acceptance
):
    code = sx_query({"reco": example_texts["reco"], "particle": example_texts["particle"]},
                    max_events=100)
    resp = requests.post(f"{gunicorn_url}/servicex/generated-code", json={"code": code},
                         timeout=30)
    reply = decode(resp)
    assert reply.image == "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
    assert (reply.language, reply.command) == ("python", "/generated/transform_single_file.py")
    assert reply.text("reco.yaml") == example_texts["reco"]
    manifest = json.loads(reply.text("run_manifest.json"))
    assert manifest["levels"]["particle"] == "particle.yaml"
    assert manifest["max_events"] == 100

    bad = requests.post(f"{gunicorn_url}/servicex/generated-code",
                        json={"code": code.replace('"max_events"', '"max_event"')}, timeout=30)
    assert bad.status_code == 400
    assert "did you mean 'max_events'" in bad.json()["Message"]
    assert requests.get(f"{gunicorn_url}/servicex/generated-code", timeout=30).status_code == 405
    huge = requests.post(f"{gunicorn_url}/servicex/generated-code",
                         json={"code": "x" * (3 * 1024 * 1024)}, timeout=30)
    assert huge.status_code == 413
    assert "1048576 bytes" in huge.json()["Message"]

    # the acceptance case over real HTTP: one 400 listing all four mistakes
    text, expected = acceptance_reco
    resp = requests.post(f"{gunicorn_url}/servicex/generated-code",
                         json={"code": sx_query({"reco": text})}, timeout=30)
    check_acceptance(resp.status_code, resp.json(), expected)


def test_gunicorn_refuses_to_start_with_the_image_an_unset_helm_value_gives(tmp_path: Path):
    """``TRANSFORMER_SCIENCE_IMAGE=":"`` stops the server at start-up with the reason."""
    env = dict(os.environ, TOPCP_CODEGEN_BIND=f"127.0.0.1:{free_port()}",
               TOPCP_CODEGEN_WORKERS="1", TRANSFORMER_SCIENCE_IMAGE=":")
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", str(CONF)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "TRANSFORMER_SCIENCE_IMAGE=':' is not a Docker image reference" in done.stderr
