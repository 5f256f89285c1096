"""Fixtures for the x509-proxy tests: a throwaway PKI on disk and a console-script runner."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .pki import PASSPHRASE, Ca, cert_pem, key_pem, make_ca, new_key, write

SCRIPT = Path(sys.executable).with_name("topcp-x509-proxy")


@dataclass
class Pki:
    ca: Ca
    ca_file: Path
    cert: Path
    key: Path
    passphrase_file: Path
    expired_cert: Path
    expired_key: Path
    other_key: Path
    dir: Path


@pytest.fixture(scope="session")
def _pki_material():
    ca = make_ca()
    now = dt.datetime.now(dt.timezone.utc)
    user_key = new_key()
    user = ca.issue_user(
        "Jane Doe",
        user_key,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
    )
    old_key = new_key()
    expired = ca.issue_user(
        "Old Timer",
        old_key,
        not_before=now - dt.timedelta(days=30),
        not_after=now - dt.timedelta(days=1),
    )
    return {
        "ca": ca,
        "user": user,
        "user_key": key_pem(user_key),
        "expired": expired,
        "expired_key": key_pem(old_key),
        "other_key": key_pem(new_key()),
    }


@pytest.fixture
def pki(_pki_material, tmp_path: Path) -> Pki:
    """Fresh copies per test (tests change modes and delete files)."""
    m = _pki_material
    d = tmp_path / "globus"
    d.mkdir()
    return Pki(
        ca=m["ca"],
        ca_file=write(d / "ca.pem", cert_pem(m["ca"].cert)),
        cert=write(d / "usercert.pem", cert_pem(m["user"])),
        key=write(d / "userkey.pem", m["user_key"], 0o600),
        passphrase_file=write(d / "passphrase", PASSPHRASE + "\n", 0o600),
        expired_cert=write(d / "expiredcert.pem", cert_pem(m["expired"])),
        expired_key=write(d / "expiredkey.pem", m["expired_key"], 0o600),
        other_key=write(d / "otherkey.pem", m["other_key"], 0o600),
        dir=d,
    )


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without any X509_PROXY_* the developer may have set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("X509_")}
    env.update(extra or {})
    return env


def run_cli(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run the installed console script once (argv list, no shell)."""
    assert SCRIPT.exists(), f"console script missing: {SCRIPT} (pip install -e .)"
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(env),
        check=False,
    )


def start_cli(
    args: list[str], *, env: dict[str, str] | None = None, stderr_path: Path
) -> subprocess.Popen:
    """Start the service in the background; the caller stops it by this PID only."""
    with open(stderr_path, "wb") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(SCRIPT), *args], stdout=fh, stderr=fh, env=cli_env(env))


def stop(proc: subprocess.Popen) -> None:
    """Kill a service a test left running (only the PID the test started)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("openssl CLI not installed")
    return path
