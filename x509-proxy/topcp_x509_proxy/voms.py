"""Run ``voms-proxy-init`` (Debian package ``voms-clients``) for a VOMS proxy.

Why: ATLAS storage wants VOMS attributes, which only the VOMS server can sign. We find and
identify the binary first (``--version``) so "not installed" is its own clear error, pass the
passphrase on stdin only (never argv, never a shell), and let it write into a private staging
directory so nothing half-made reaches the shared path.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import VomsFailedError, VomsNotFoundError

log = logging.getLogger(__name__)

DEFAULT_BINARY = "voms-proxy-init"
_VERSION = re.compile(r"(?i)(?:version|v\.)\s*:?\s*(\d+(?:\.\d+)+[\w.+-]*)")
_TAIL_LINES = 25


@dataclass(frozen=True)
class VomsBinary:
    """A located, working voms-proxy-init and the version it reported."""

    path: str
    version: str


def detect(binary: str | None = None, *, timeout: float = 20.0) -> VomsBinary:
    """Find ``voms-proxy-init`` and check it answers ``--version``."""
    name = binary or DEFAULT_BINARY
    path = shutil.which(name)
    if path is None:
        where = (
            f"{name} is not an executable file"
            if os.sep in name
            else f"{name} was not found on PATH"
        )
        raise VomsNotFoundError(
            f"voms-proxy-init is needed for --mode voms but {where}. Install the Debian package "
            "voms-clients (apt-get install voms-clients), pass its path with --voms-proxy-init, "
            "or use --mode rfc3820 / --mode passthrough"
        )
    try:
        done = subprocess.run(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VomsNotFoundError(f"{path} --version could not run: {exc}") from None
    output = (done.stdout or "") + (done.stderr or "")
    m = _VERSION.search(output)
    if done.returncode != 0 or m is None:
        raise VomsNotFoundError(
            f"{path} does not look like voms-proxy-init: '--version' exited {done.returncode} "
            f"and printed: {_tail(output) or '(nothing)'}"
        )
    return VomsBinary(path=path, version=m.group(1))


def valid_argument(lifetime_seconds: float) -> str:
    """voms-proxy-init's ``--valid H:MM``; whole minutes, rounded up, at least one."""
    minutes = max(1, math.ceil(lifetime_seconds / 60.0))
    return f"{minutes // 60}:{minutes % 60:02d}"


def build_argv(
    binary: VomsBinary,
    *,
    cert: Path,
    key: Path,
    out: Path,
    lifetime_seconds: float,
    vo: str,
    key_bits: int,
    with_passphrase: bool,
) -> list[str]:
    """The exact argv (no shell): the forms upstream's x509-secrets uses, which v2 and v3 accept."""
    argv = [binary.path]
    if with_passphrase:
        argv.append("--pwstdin")
    argv += [
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--out",
        str(out),
        "--valid",
        valid_argument(lifetime_seconds),
        "--bits",
        str(key_bits),
    ]
    if vo:
        argv += ["--voms", vo]
    return argv


def run_voms_proxy_init(
    binary: VomsBinary,
    *,
    cert: Path,
    key: Path,
    passphrase: bytes | None,
    staging_parent: Path,
    lifetime_seconds: float,
    vo: str,
    key_bits: int,
    timeout: float,
) -> bytes:
    """Run voms-proxy-init into a private temp dir and return the proxy bytes it wrote."""
    with tempfile.TemporaryDirectory(prefix=".x509-voms-", dir=staging_parent) as tmp:
        os.chmod(tmp, 0o700)
        out = Path(tmp) / "x509up"
        argv = build_argv(
            binary,
            cert=cert,
            key=key,
            out=out,
            lifetime_seconds=lifetime_seconds,
            vo=vo,
            key_bits=key_bits,
            with_passphrase=passphrase is not None,
        )
        log.debug("running %s", " ".join(argv))
        stdin = (passphrase + b"\n") if passphrase is not None else b""
        try:
            done = subprocess.run(
                argv, input=stdin, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise VomsFailedError(
                f"voms-proxy-init did not finish within {timeout:.0f}s (VOMS server unreachable?)"
            ) from None
        except OSError as exc:
            raise VomsFailedError(f"voms-proxy-init could not start: {exc}") from None
        output = _scrub(done.stdout + done.stderr, passphrase)
        if done.returncode != 0:
            vo_text = f" for VO {vo!r}" if vo else ""
            raise VomsFailedError(
                f"voms-proxy-init failed{vo_text} (exit {done.returncode}): {_tail(output) or '(no output)'}"
            )
        try:
            data = out.read_bytes()
        except FileNotFoundError:
            raise VomsFailedError(
                f"voms-proxy-init exited 0 but wrote no proxy to --out; it said: {_tail(output) or '(nothing)'}"
            ) from None
        for line in output.splitlines():
            if line.strip():
                log.debug("voms-proxy-init: %s", line.strip())
        return data


def _scrub(raw: bytes, passphrase: bytes | None) -> str:
    """Decode tool output, removing the passphrase should a tool ever echo it."""
    if passphrase:
        raw = raw.replace(passphrase, b"***")
    return raw.decode("utf-8", "replace")


def _tail(text: str) -> str:
    """The tool's last lines on one line, without v2 noise (key-generation dots, "Function:")."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and ln != "Function:" and not set(ln) <= {".", "+", "*"}]
    return " | ".join(lines[-_TAIL_LINES:])
