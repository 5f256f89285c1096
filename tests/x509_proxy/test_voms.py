"""voms mode drives voms-proxy-init correctly: argv, passphrase on stdin, errors, detection."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from pathlib import Path

import pytest
from topcp_x509_proxy import voms
from topcp_x509_proxy.errors import ExitCode, VomsNotFoundError

from .conftest import free_port, run_cli, start_cli, stop
from .helpers import credential_args, http_get, read_status, wait_for
from .pki import PASSPHRASE, openssl_verify, split_proxy_file
from .stub_voms import install_stub


@pytest.fixture
def stub(tmp_path: Path) -> dict[str, str]:
    """PATH with the stub first, and where it logs its calls."""
    bin_dir = tmp_path / "bin"
    install_stub(bin_dir)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STUB_LOG": str(tmp_path / "stub.log"),
    }


def calls(env: dict[str, str]) -> list[dict]:
    log = Path(env["STUB_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def voms_args(pki, out: Path, *extra: str) -> list[str]:
    return credential_args(pki, "voms", out, "--once", *extra)


def test_runs_voms_proxy_init_with_the_expected_arguments(pki, tmp_path, stub, openssl) -> None:
    out = tmp_path / "gs" / "x509up"
    done = run_cli(voms_args(pki, out, "--lifetime", "90m"), env=stub)
    assert done.returncode == 0, done.stderr
    assert "voms-proxy-init 2.1.1-stub" in done.stderr  # detected with --version first

    (call,) = calls(stub)
    argv = call["argv"]
    assert argv[0] == "--pwstdin"
    pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert pairs["--cert"] == str(pki.cert) and pairs["--key"] == str(pki.key)
    assert pairs["--valid"] == "1:30" and pairs["--voms"] == "atlas" and pairs["--bits"] == "2048"
    # voms-proxy-init writes into a private staging dir beside --out, never to --out itself.
    assert Path(pairs["--out"]).parent.parent == out.parent and Path(pairs["--out"]) != out
    assert not Path(pairs["--out"]).exists()
    # The passphrase travels on stdin only.
    assert call["stdin"] == PASSPHRASE + "\n"
    assert all(PASSPHRASE not in a for a in argv)
    assert PASSPHRASE not in done.stderr

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert openssl_verify(out, pki.ca_file, tmp_path).returncode == 0
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_vo_option_and_none(pki, tmp_path, stub) -> None:
    assert run_cli(voms_args(pki, tmp_path / "a", "--vo", "cms"), env=stub).returncode == 0
    assert run_cli(voms_args(pki, tmp_path / "b", "--vo", "none"), env=stub).returncode == 0
    first, second = calls(stub)
    assert first["argv"][first["argv"].index("--voms") + 1] == "cms"
    assert "--voms" not in second["argv"]


def test_lifetime_in_seconds_rounds_up_to_whole_minutes(pki, tmp_path, stub) -> None:
    assert run_cli(voms_args(pki, tmp_path / "x", "--lifetime", "90s"), env=stub).returncode == 0
    argv = calls(stub)[0]["argv"]
    assert argv[argv.index("--valid") + 1] == "0:02"


def test_voms_failure_reports_its_own_message(pki, tmp_path, stub) -> None:
    out = tmp_path / "x509up"
    env = {**stub, "STUB_FAIL": "VOMS Server for atlas not known!"}
    done = run_cli(voms_args(pki, out), env=env)
    assert done.returncode == 10
    assert "voms-proxy-init failed for VO 'atlas' (exit 1)" in done.stderr
    assert "VOMS Server for atlas not known!" in done.stderr
    assert not out.exists()


def test_wrong_passphrase_is_caught_before_voms_proxy_init(pki, tmp_path, stub) -> None:
    pki.passphrase_file.write_text("not the passphrase\n")
    done = run_cli(voms_args(pki, tmp_path / "x509up"), env=stub)
    assert done.returncode == 5 and "wrong passphrase" in done.stderr
    assert "not the passphrase" not in done.stderr
    assert calls(stub) == []


def test_missing_binary_is_a_clear_error(pki, tmp_path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = run_cli(voms_args(pki, tmp_path / "x509up"), env={"PATH": str(empty)})
    assert done.returncode == 9
    assert "voms-proxy-init was not found on PATH" in done.stderr
    assert "apt-get install voms-clients" in done.stderr

    done = run_cli(voms_args(pki, tmp_path / "x509up", "--voms-proxy-init", str(tmp_path / "nope")))
    assert done.returncode == 9 and "is not an executable file" in done.stderr


def test_binary_that_fails_version_is_rejected(pki, tmp_path, stub) -> None:
    done = run_cli(voms_args(pki, tmp_path / "x509up"), env={**stub, "STUB_BAD_VERSION": "1"})
    assert done.returncode == 9
    assert "does not look like voms-proxy-init" in done.stderr and "exited 139" in done.stderr


def test_detect_parses_version_of_stub(tmp_path) -> None:
    path = install_stub(tmp_path / "bin")
    assert voms.detect(str(path)).version == "2.1.1-stub"
    with pytest.raises(VomsNotFoundError):
        voms.detect(str(tmp_path / "missing"))


@pytest.mark.skipif(shutil.which("voms-proxy-init") is None, reason="voms-clients not installed")
def test_detects_the_real_voms_proxy_init() -> None:
    found = voms.detect()
    assert found.path == shutil.which("voms-proxy-init")
    assert found.version[0].isdigit()


def test_stub_proxy_is_what_gets_published(pki, tmp_path, stub) -> None:
    out = tmp_path / "x509up"
    assert run_cli(voms_args(pki, out, "--lifetime", "1h"), env=stub).returncode == 0
    certs, keys = split_proxy_file(out.read_bytes())
    assert len(keys) == 1 and certs[0].issuer == certs[1].subject


def test_proxy_is_withdrawn_at_expiry_while_voms_proxy_init_hangs(pki, tmp_path, stub) -> None:
    """The renewal blocks in voms-proxy-init past the proxy's expiry: the expired proxy must
    still leave the shared path on time, and health must say it expired."""
    out, status = tmp_path / "x509up", tmp_path / "status.json"
    port = free_port()
    env = {**stub, "STUB_LIFETIME_SECONDS": "3", "STUB_HANG_FROM_CALL": "2"}
    args = credential_args(pki, "voms", out, "--lifetime", "1h", "--renew-threshold", "2s",
                           "--voms-timeout", "8s", "--status-file", str(status),
                           "--health-port", str(port))
    proc = start_cli(args, env=env, stderr_path=tmp_path / "log")
    try:
        wait_for("first proxy", lambda: out.exists(), proc=proc)
        wait_for("the hanging renewal", lambda: len(calls(stub)) == 2, proc=proc)
        wait_for("the expired proxy withdrawn", lambda: not out.exists(), limit=15, proc=proc)
        # ... while that renewal still hangs (it fails only at --voms-timeout)
        assert "did not finish within" not in (tmp_path / "log").read_text()
        code, body = http_get(port, "/healthz")
        assert code == 503 and "expired" in body["reason"]
        assert read_status(status)["last_error_code"] == ExitCode.EXPIRED
        # SIGTERM stops the loop once --voms-timeout has ended (and killed) the hung renewal
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        stop(proc)
