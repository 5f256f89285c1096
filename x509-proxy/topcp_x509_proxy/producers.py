"""The three ways to obtain proxy bytes; the service validates and publishes them.

Why: the modes differ only in where the proxy comes from, so each is one small class with
``produce()``; checks, scheduling and publishing stay shared and identical.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Protocol

from . import voms
from .credentials import UserCredentials, check_private_file_mode, load_user_credentials, read_file
from .durations import format_duration
from .errors import MissingFileError
from .publish import ensure_directory
from .rfc3820 import make_proxy
from .settings import Settings

log = logging.getLogger(__name__)
CERT_EXPIRY_WARNING = dt.timedelta(days=14)


class Producer(Protocol):
    mode: str

    def describe(self) -> str:
        """What the bytes are, for messages (e.g. 'source proxy /tmp/x509up_u1000')."""

    def produce(self) -> bytes:
        """Return a proxy PEM bundle or raise a ``ProxyError``."""

    def source_changed(self) -> bool:
        """Whether the input changed since the last ``produce()`` (passthrough only)."""


def _warn_if_certificate_ends_soon(creds: UserCredentials, cert_path: Path) -> None:
    left = creds.certificate.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
    if left < CERT_EXPIRY_WARNING:
        log.warning(
            "user certificate %s expires in %s (%s UTC); renew it with your CA soon",
            cert_path,
            format_duration(left.total_seconds()),
            creds.certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M"),
        )


class _UserCredentialProducer:
    """Shared by the modes that make a new proxy from the user's certificate and key."""

    mode = ""

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def credentials(self) -> UserCredentials:
        """Load and cross-check cert, key and passphrase afresh (they may have been renewed)."""
        creds = load_user_credentials(self.s.cert, self.s.key, self.s.passphrase_file)
        _warn_if_certificate_ends_soon(creds, self.s.cert)
        return creds

    def source_changed(self) -> bool:
        return False  # renewal is driven by lifetime and interval only


class Rfc3820Producer(_UserCredentialProducer):
    """Signs a fresh RFC 3820 proxy with the user's key on every renewal."""

    mode = "rfc3820"

    def describe(self) -> str:
        return f"new RFC 3820 proxy for {self.s.cert}"

    def produce(self) -> bytes:
        lifetime = dt.timedelta(seconds=self.s.lifetime)
        return make_proxy(self.credentials(), lifetime, key_bits=self.s.key_bits)


class VomsProducer(_UserCredentialProducer):
    """Runs voms-proxy-init after checking the user's files ourselves."""

    mode = "voms"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.binary = voms.detect(settings.voms_proxy_init)
        log.info("using %s (voms-proxy-init %s)", self.binary.path, self.binary.version)

    def describe(self) -> str:
        return "proxy from voms-proxy-init"

    def produce(self) -> bytes:
        creds = self.credentials()
        staging = self.s.out.parent
        ensure_directory(staging)
        return voms.run_voms_proxy_init(
            self.binary,
            cert=self.s.cert,
            key=self.s.key,
            passphrase=creds.passphrase,
            staging_parent=staging,
            lifetime_seconds=self.s.lifetime,
            vo=self.s.vo,
            key_bits=self.s.key_bits,
            timeout=self.s.voms_timeout,
        )


class PassthroughProducer:
    """Re-reads an existing proxy (e.g. the host's /tmp/x509up_u<uid>)."""

    mode = "passthrough"

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self._seen: tuple[int, int, int] | None = None

    def describe(self) -> str:
        return f"source proxy {self.s.source}"

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.s.source)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def produce(self) -> bytes:
        src = self.s.source
        signature = self._signature()
        self._seen = signature  # a failure is reported once per change, not once per poll
        if not src.exists():
            raise MissingFileError(
                f"source proxy {src} does not exist; create it on the host (voms-proxy-init) or "
                "point --source at it"
            )
        check_private_file_mode(src, what="source proxy (it holds a private key)")
        return read_file(src, what="source proxy", option="--source")

    def source_changed(self) -> bool:
        return self._signature() != self._seen


def make_producer(settings: Settings) -> Producer:
    if settings.mode == "voms":
        return VomsProducer(settings)
    if settings.mode == "rfc3820":
        return Rfc3820Producer(settings)
    return PassthroughProducer(settings)
