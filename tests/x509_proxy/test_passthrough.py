"""passthrough mode republishes an existing proxy: only valid ones, following its changes,
and withdrawing it when it expires."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
from pathlib import Path

import pytest
from topcp_x509_proxy.credentials import load_user_credentials
from topcp_x509_proxy.errors import ExitCode
from topcp_x509_proxy.rfc3820 import make_proxy

from .conftest import free_port, run_cli, start_cli, stop
from .helpers import http_get, read_status, wait_for
from .pki import write


@pytest.fixture
def make_source(pki, tmp_path: Path):
    """Write a proxy like the host's /tmp/x509up_u<uid> (mode 0600), replacing atomically."""
    creds = load_user_credentials(pki.cert, pki.key, pki.passphrase_file)

    def make(
        lifetime: dt.timedelta = dt.timedelta(hours=1), *, now: dt.datetime | None = None
    ) -> bytes:
        data = make_proxy(creds, lifetime, now=now)
        tmp = write(tmp_path / ".source.tmp", data, 0o600)
        os.replace(tmp, tmp_path / "x509up_u1000")
        return data

    return make


def pass_args(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--mode",
        "passthrough",
        "--source",
        str(tmp_path / "x509up_u1000"),
        "--out",
        str(out),
        "--status-file",
        str(tmp_path / "status.json"),
        *extra,
    ]


def test_once_republishes_the_source_unchanged(tmp_path, make_source) -> None:
    data = make_source()
    os.chmod(tmp_path / "x509up_u1000", 0o400)
    out = tmp_path / "gs" / "x509up"
    done = run_cli(pass_args(tmp_path, out, "--once"))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == data
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert read_status(tmp_path / "status.json")["mode"] == "passthrough"


def test_expired_source_is_never_published(tmp_path, make_source) -> None:
    make_source(dt.timedelta(hours=1), now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))
    out = tmp_path / "x509up"
    done = run_cli(pass_args(tmp_path, out, "--once"))
    assert done.returncode == ExitCode.EXPIRED
    assert "the proxy expired at" in done.stderr and not out.exists()


@pytest.mark.parametrize(
    ("damage", "code", "fragment"),
    [
        (lambda d: d[: len(d) // 2], ExitCode.BAD_INPUT, "holds no private key"),
        (
            lambda d: d[: d.index(b"-----BEGIN RSA PRIVATE KEY")],
            ExitCode.BAD_INPUT,
            "holds no private key",
        ),
        (lambda d: b"garbage\n", ExitCode.BAD_INPUT, "holds no certificate"),
    ],
)
def test_invalid_source_is_never_published(tmp_path, make_source, damage, code, fragment) -> None:
    source = tmp_path / "x509up_u1000"
    write(source, damage(make_source()), 0o600)
    out = tmp_path / "x509up"
    done = run_cli(pass_args(tmp_path, out, "--once"))
    assert done.returncode == code, done.stderr
    assert fragment in done.stderr and not out.exists()


def test_source_with_a_foreign_key_is_rejected(tmp_path, make_source, pki) -> None:
    data = make_source()
    start = data.index(b"-----BEGIN RSA PRIVATE KEY")
    end = data.index(b"-----END RSA PRIVATE KEY-----\n") + 30
    other = pki.other_key.read_bytes()  # encrypted PKCS#8: also not a usable proxy key
    write(tmp_path / "x509up_u1000", data[:start] + other + data[end:], 0o600)
    done = run_cli(pass_args(tmp_path, tmp_path / "x509up", "--once"))
    assert done.returncode == ExitCode.BAD_INPUT and "the proxy key is encrypted" in done.stderr


def test_source_readable_by_others_and_missing_source(tmp_path, make_source) -> None:
    make_source()
    source = tmp_path / "x509up_u1000"
    os.chmod(source, 0o644)
    done = run_cli(pass_args(tmp_path, tmp_path / "x509up", "--once"))
    assert done.returncode == ExitCode.INSECURE_KEY and f"chmod 600 {source}" in done.stderr
    source.unlink()
    done = run_cli(pass_args(tmp_path, tmp_path / "x509up", "--once"))
    assert (
        done.returncode == ExitCode.MISSING_FILE
        and f"source proxy {source} does not exist" in done.stderr
    )


def test_source_and_out_must_differ(tmp_path, make_source) -> None:
    make_source()
    done = run_cli(pass_args(tmp_path, tmp_path / "x509up_u1000", "--once"))
    assert done.returncode == ExitCode.USAGE and "same file" in done.stderr


def test_follows_source_changes_and_skips_broken_ones(tmp_path, make_source) -> None:
    first = make_source()
    out = tmp_path / "x509up"
    proc = start_cli(
        pass_args(tmp_path, out, "--poll-interval", "0.1s", "--health-port", "0"),
        stderr_path=tmp_path / "log",
    )
    try:
        wait_for("first copy", lambda: out.exists() and out.read_bytes() == first, proc=proc)
        second = make_source()
        wait_for("second copy", lambda: out.read_bytes() == second, proc=proc)

        write(tmp_path / "x509up_u1000", second[:100], 0o600)  # a non-atomic writer caught mid-way
        status = wait_for(
            "the error",
            lambda: (s := read_status(tmp_path / "status.json")) and s["last_error"] and s,
            proc=proc,
        )
        assert status["last_error_code"] == ExitCode.BAD_INPUT and status["healthy"] is True
        assert out.read_bytes() == second

        third = make_source()
        wait_for("third copy", lambda: out.read_bytes() == third, proc=proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)
    assert "changed; republishing" in (tmp_path / "log").read_text()


def test_expiring_source_is_withdrawn_and_health_turns_503(tmp_path, make_source) -> None:
    make_source(dt.timedelta(seconds=3))
    out = tmp_path / "x509up"
    port = free_port()
    proc = start_cli(
        pass_args(
            tmp_path,
            out,
            "--poll-interval",
            "0.2s",
            "--retry-interval",
            "0.2s",
            "--renew-threshold",
            "1h",
            "--health-port",
            str(port),
        ),
        stderr_path=tmp_path / "log",
    )
    try:
        wait_for("healthy", lambda: (r := http_get(port, "/healthz")) and r[0] == 200, proc=proc)
        code, body = wait_for(
            "unhealthy", lambda: (r := http_get(port, "/healthz")) and r[0] == 503 and r, proc=proc
        )
        # Health turns 503 the instant the clock passes notAfter (its own thread); the service
        # loop wakes at that instant and withdraws the file before any renewal attempt.
        wait_for("the expired proxy withdrawn", lambda: not out.exists(), limit=10, proc=proc)
        assert "expired" in body["reason"]
        status = read_status(tmp_path / "status.json")
        assert status["healthy"] is False and status["last_error_code"] == ExitCode.EXPIRED
        assert status["subject"] is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)
    assert "proxy lifetime low" in (tmp_path / "log").read_text()
