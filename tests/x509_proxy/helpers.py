"""Polling helpers for tests that talk to a running service (bounded loops, no timing asserts)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .pki import split_proxy_file

T = TypeVar("T")


def credential_args(pki, mode: str, out: Path, *extra: str) -> list[str]:
    """CLI options for a mode that signs with the throwaway user's cert, key and passphrase."""
    return [
        "--mode", mode,
        "--cert", str(pki.cert),
        "--key", str(pki.key),
        "--passphrase-file", str(pki.passphrase_file),
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def wait_for(what: str, probe: Callable[[], T | None], *, limit: float = 60.0, proc=None) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``limit`` s (a safety bound)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"service exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def http_get(port: int, path: str) -> tuple[int, dict] | None:
    """GET http://127.0.0.1:port/path -> (status, JSON body); None when not listening."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def read_status(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def check_proxy_bytes(data: bytes, ca: x509.Certificate) -> x509.Certificate:
    """Fully parse and verify a proxy bundle in-process; return the proxy certificate."""
    certs, keys = split_proxy_file(data)
    assert len(keys) == 1, "proxy key missing"
    key = serialization.load_pem_private_key(keys[0], None)
    assert key.public_key().public_numbers() == certs[0].public_key().public_numbers()
    for child, parent in zip(certs, [*certs[1:], ca], strict=True):
        child.verify_directly_issued_by(parent)
    return certs[0]
