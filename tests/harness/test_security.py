"""Safe by default: tokens as ServiceX uses them, loopback only without one, Host check.

ServiceX's API needs a JWT obtained at ``POST /token/refresh`` with the refresh token from
servicex.yaml (servicex 3.3.1 ``servicex_adapter.py``; ssl-hep/ServiceX ``token_refresh.py``).
A harness with a token behaves the same; one without is open on loopback only, and still
answers ``/token/refresh`` so that users' existing servicex.yaml files work.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from google.auth import jwt
from harness_helpers import input_dirs
from servicex import dataset, deliver, query
from servicex.servicex_adapter import ServiceXAdapter
from topcp_harness.config import HarnessConfig, S3Settings
from topcp_harness.security import InputPolicy, InputRefused
from topcp_harness.server import Harness

TOKEN = "local-harness-token-0123456789abcdef"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, seaweed: S3Settings):
    """A harness that requires TOKEN (the session's S3 as an external store)."""
    h = Harness(HarnessConfig(port=0, workers=1, state_dir=tmp_path_factory.mktemp("guarded"),
                              s3=seaweed, token=TOKEN, data_dirs=input_dirs(tmp_path_factory)))
    h.start()
    yield h
    h.stop()


def test_every_api_call_needs_the_token_and_refresh_gives_a_jwt(guarded: Harness):
    url = guarded.url
    assert requests.get(f"{url}/servicex", timeout=10).status_code == 200  # open, as upstream
    for headers in ({}, {"Authorization": "Bearer wrong-token"}):
        r = requests.get(f"{url}/servicex/transformation", headers=headers, timeout=10)
        assert r.status_code == 401 and "token" in r.json()["message"]
        assert requests.post(f"{url}/servicex/transformation", json={}, headers=headers,
                             timeout=10).status_code == 401
    assert requests.post(f"{url}/token/refresh", headers={"Authorization": "Bearer nope"},
                         timeout=10).status_code == 401
    access = requests.post(f"{url}/token/refresh", headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=10).json()["access_token"]
    claims = jwt.decode(access, verify=False)  # what the client reads (its expiry)
    assert claims["exp"] > claims["iat"]
    ok = requests.get(f"{url}/servicex/transformation",
                      headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert ok.status_code == 200
    tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    assert requests.get(f"{url}/servicex/transformation", timeout=10,
                        headers={"Authorization": f"Bearer {tampered}"}).status_code == 401


def test_deliver_with_a_token_in_servicex_yaml(guarded: Harness, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              reco_yaml: Path, physlite_rntuple: Path):
    (tmp_path / "servicex.yaml").write_text(
        f"api_endpoints:\n  - endpoint: {guarded.url}\n    name: guarded\n"
        f"    token: {TOKEN}\ncache_path: {tmp_path / 'cache'}\n")
    assert f"token: {TOKEN}" in guarded.servicex_yaml()  # what serve prints
    monkeypatch.chdir(tmp_path)
    spec = {"Sample": [{"Name": "tok", "Dataset": dataset.FileList([str(physlite_rntuple)]),
                        "Query": query.TopCP(reco=str(reco_yaml), max_events=10)}]}
    (out,) = list(deliver(spec, progress_bar="none", return_exceptions=False)["tok"])
    assert Path(out).is_file()


def test_an_open_harness_accepts_a_token_or_an_expired_bearer_token_file(
        harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a user's servicex.yaml with a token, or BEARER_TOKEN_FILE holding an expired JWT (common
    # on analysis facilities): the client then calls /token/refresh, which must not fail
    adapter = ServiceXAdapter(harness.url, refresh_token="whatever-the-user-had")
    assert isinstance(asyncio.run(adapter.get_transforms()), list)
    expired = jwt.encode(_dummy_signer(), {"sub": "u", "exp": 1})
    token_file = tmp_path / "bt"
    token_file.write_bytes(expired)
    monkeypatch.setenv("BEARER_TOKEN_FILE", str(token_file))
    assert isinstance(asyncio.run(ServiceXAdapter(harness.url).get_transforms()), list)


def _dummy_signer():
    class Signer:
        key_id = None

        def sign(self, message: bytes) -> bytes:
            return b"unsigned"

    return Signer()


def test_a_foreign_host_header_is_refused(harness: Harness):
    # a web page that rebinds its own name to 127.0.0.1 sends its own name as Host
    r = requests.get(f"{harness.url}/servicex", headers={"Host": "evil.example.com"},
                     timeout=10)
    assert r.status_code == 403 and "DNS rebinding" in r.json()["message"]
    assert requests.get(f"{harness.url}/servicex", timeout=10,
                        headers={"Host": f"localhost:{harness.port}"}).status_code == 200


def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path: Path):
    state = tmp_path / "state"
    done = subprocess.run([sys.executable, "-m", "topcp_harness", "--host", "0.0.0.0",
                           "--port", "0", "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: refusing to listen on 0.0.0.0 without a token")
    assert "--auth" in line
    assert not (state / "s3").exists()  # nothing was started


@pytest.mark.parametrize("name", ["local:///etc/hosts", "simplecache::file:///etc/hosts",
                                  "File:///etc/hosts", "memory://x.root"])
def test_allowed_remote_inputs_are_network_urls_not_local_files_in_disguise(
        tmp_path: Path, name: str):
    # uproot (fsspec) opens "local://..." and "simplecache::file://..." as local files: with
    # --allow-remote-inputs they must not get around the data-folder rule
    policy = InputPolicy((tmp_path,), allow_remote=True)
    with pytest.raises(InputRefused, match="not a remote protocol this harness passes on"):
        policy.check(name)
    for url in ("root://eospublic.cern.ch//eos/x.root", "https://example.org/x.root",
                "davs://example.org:443/x.root"):
        assert policy.check(url) == url
