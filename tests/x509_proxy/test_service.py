"""The long-running service: renewal before expiry, atomic replacement under a polling
reader, the health endpoint and status file, keeping the last good proxy, and SIGTERM."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import stat
import threading
from pathlib import Path

import pytest

from .conftest import free_port, run_cli, start_cli, stop
from .helpers import check_proxy_bytes, credential_args, http_get, read_status, wait_for
from .pki import openssl_verify, write


def service_args(pki, out: Path, status: Path, *extra: str) -> list[str]:
    return credential_args(pki, "rfc3820", out, "--status-file", str(status),
                           "--health-port", "0", *extra)


def terminate(proc) -> int:
    """SIGTERM the service this test started (by its PID) and return its exit code."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def test_renews_before_expiry(pki, tmp_path: Path) -> None:
    out, status = tmp_path / "gs" / "x509up", tmp_path / "status.json"
    lifetime = dt.timedelta(seconds=4)
    proc = start_cli(
        service_args(
            pki,
            out,
            status,
            "--lifetime",
            "4s",
            "--renew-threshold",
            "3s",
            "--retry-interval",
            "0.2s",
        ),
        stderr_path=tmp_path / "log",
    )
    try:
        seen: dict[int, dt.datetime] = {}

        def three_proxies():
            if out.exists():
                proxy = check_proxy_bytes(out.read_bytes(), pki.ca.cert)
                seen[proxy.serial_number] = proxy.not_valid_after_utc
            return len(seen) >= 3

        wait_for("three renewals", three_proxies, proc=proc)
        assert terminate(proc) == 0
    finally:
        stop(proc)
    expiries = sorted(seen.values())
    for old, new in zip(expiries, expiries[1:], strict=False):
        issued = new - lifetime  # each proxy lives exactly --lifetime from its issue time
        assert issued < old, f"proxy issued at {issued} only after its predecessor expired at {old}"


@pytest.mark.slow
def test_reader_never_sees_a_partial_or_invalid_proxy_through_50_renewals(
    pki, tmp_path: Path, openssl
) -> None:
    out, status = tmp_path / "gs" / "x509up", tmp_path / "status.json"
    proc = start_cli(
        service_args(pki, out, status, "--lifetime", "1h", "--interval", "0.02s"),
        stderr_path=tmp_path / "log",
    )
    contents: dict[str, bytes] = {}
    failures: list[str] = []
    reads = 0
    done = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                data = out.read_bytes()
            except FileNotFoundError:
                continue
            reads += 1
            try:
                check_proxy_bytes(data, pki.ca.cert)
            except Exception as exc:  # record, keep reading
                failures.append(f"read {reads}: {type(exc).__name__}: {exc} ({len(data)} bytes)")
            contents.setdefault(hashlib.sha256(data).hexdigest(), data)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        wait_for(
            "50 renewals",
            lambda: (read_status(status) or {}).get("renewals", 0) >= 51,
            limit=120,
            proc=proc,
        )
    finally:
        done.set()
        thread.join(timeout=30)
    try:
        assert terminate(proc) == 0
    finally:
        stop(proc)
    assert failures == []
    assert len(contents) >= 10, (
        f"the reader saw only {len(contents)} distinct proxies in {reads} reads"
    )
    for index, data in enumerate(contents.values()):
        path = write(tmp_path / f"seen-{index}", data, 0o600)
        verified = openssl_verify(path, pki.ca_file, tmp_path)
        assert verified.returncode == 0, verified.stderr
    assert [p.name for p in out.parent.iterdir()] == ["x509up"], "temp files left behind"


def test_health_endpoint_status_file_and_sigterm(pki, tmp_path: Path) -> None:
    out, status = tmp_path / "gs" / "x509up", tmp_path / "gs" / "x509-proxy-status.json"
    port = free_port()
    args = service_args(pki, out, status, "--lifetime", "1h")
    args[args.index("--health-port") + 1] = str(port)
    args.remove("--status-file")
    args.remove(str(status))  # default: beside --out
    proc = start_cli(args, stderr_path=tmp_path / "log")
    try:
        # 503 until the first proxy is out (proxy generation may still be running), then 200.
        code, body = wait_for(
            "a healthy endpoint",
            lambda: (r := http_get(port, "/healthz")) and r[0] == 200 and r,
            proc=proc,
        )
        assert body["status"] == "ok" and body["reason"] is None
        assert 3500 < body["time_left_seconds"] <= 3600

        code, doc = http_get(port, "/status")
        assert code == 200
        assert doc["healthy"] is True and doc["mode"] == "rfc3820" and doc["out"] == str(out)
        assert doc["identity"] == "/DC=org/DC=example/CN=Jane Doe"
        assert doc["issuer"] == doc["identity"]
        assert doc["subject"].startswith(doc["identity"] + "/CN=")
        assert doc["renewals"] == 1 and doc["last_error"] is None and doc["last_error_code"] is None
        assert doc["health_url"] == f"http://127.0.0.1:{port}"
        expiry = dt.datetime.fromisoformat(doc["expiry"].replace("Z", "+00:00"))
        assert expiry.timestamp() == doc["expiry_epoch"]
        for key in ("last_renewal", "next_renewal", "not_before", "time_left"):
            assert doc[key]

        on_disk = read_status(status)
        assert on_disk is not None and stat.S_IMODE(status.stat().st_mode) == 0o644
        for key in (
            "subject",
            "issuer",
            "identity",
            "expiry",
            "mode",
            "last_renewal",
            "last_error",
        ):
            assert on_disk[key] == doc[key]
        assert 3500 < on_disk["time_left_seconds"] <= 3600

        assert http_get(port, "/nothing-here")[0] == 404
        probe = run_cli(["--healthcheck", "--health-port", str(port)])  # Docker HEALTHCHECK form
        assert probe.returncode == 0 and '"status": "ok"' in probe.stdout
        assert terminate(proc) == 0
    finally:
        stop(proc)
    log = (tmp_path / "log").read_text()
    assert "received SIGTERM; stopping" in log
    assert http_get(port, "/healthz") is None, "the HTTP server must be closed"
    assert run_cli(["--healthcheck", "--health-port", str(port)]).returncode == 1
    assert read_status(status)["stopping"] is True
    assert out.exists(), "the last valid proxy stays for the science container"


def test_failed_renewal_keeps_the_valid_proxy_and_recovers(pki, tmp_path: Path) -> None:
    out, status = tmp_path / "x509up", tmp_path / "status.json"
    port = free_port()
    args = service_args(
        pki, out, status, "--lifetime", "1h", "--interval", "0.1s", "--retry-interval", "0.1s"
    )
    args[args.index("--health-port") + 1] = str(port)
    proc = start_cli(args, stderr_path=tmp_path / "log")
    try:
        wait_for("first proxy", lambda: (read_status(status) or {}).get("renewals"), proc=proc)
        os.chmod(pki.key, 0o644)
        failing = wait_for(
            "a failed renewal",
            lambda: (s := read_status(status)) and s["last_error_code"] == 4 and s,
            proc=proc,
        )
        assert f"chmod 600 {pki.key}" in failing["last_error"]
        assert failing["healthy"] is True
        assert http_get(port, "/healthz")[0] == 200
        check_proxy_bytes(out.read_bytes(), pki.ca.cert)

        count = failing["renewals"]
        os.chmod(pki.key, 0o600)
        recovered = wait_for(
            "recovery",
            lambda: (
                (s := read_status(status))
                and s["renewals"] > count
                and s["last_error"] is None
                and s
            ),
            proc=proc,
        )
        assert recovered["healthy"] is True
        assert terminate(proc) == 0
    finally:
        stop(proc)
    assert "renewal failed (retrying in" in (tmp_path / "log").read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_ends_the_service_cleanly(pki, tmp_path: Path, signum) -> None:
    out, status = tmp_path / "x509up", tmp_path / "status.json"
    proc = start_cli(
        service_args(pki, out, status, "--lifetime", "1h"), stderr_path=tmp_path / "log"
    )
    try:
        wait_for(
            "first proxy",
            lambda: out.exists() and (read_status(status) or {}).get("renewals"),
            proc=proc,
        )
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)


def test_a_removed_proxy_is_published_again(pki, tmp_path: Path) -> None:
    out, status = tmp_path / "x509up", tmp_path / "status.json"
    proc = start_cli(
        service_args(pki, out, status, "--lifetime", "1h", "--poll-interval", "0.1s"),
        stderr_path=tmp_path / "log",
    )
    try:
        wait_for("first proxy", lambda: (read_status(status) or {}).get("renewals") == 1, proc=proc)
        out.unlink()
        wait_for(
            "the proxy back", lambda: (read_status(status) or {}).get("renewals") == 2, proc=proc
        )
        check_proxy_bytes(out.read_bytes(), pki.ca.cert)
        assert terminate(proc) == 0
    finally:
        stop(proc)
    assert "was removed by someone else; publishing again" in (tmp_path / "log").read_text()
