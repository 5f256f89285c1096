"""Validate a proxy PEM bundle before it is published, and describe it for the status.

Why: whatever made the bundle (our signer, voms-proxy-init, the user's host), nothing reaches
the shared path unless it parses, its key belongs to its first certificate, every link of the
chain is signed by the next, and it is currently valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .credentials import keys_match
from .errors import BadInputError, ExpiredError, KeyMismatchError
from .pem import split_pem

PROXY_CERT_INFO_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
_SHORT_NAMES = {NameOID.EMAIL_ADDRESS: "emailAddress"}


def grid_dn(name: x509.Name) -> str:
    """The ``/DC=ch/DC=cern/CN=...`` form grid tools (voms-proxy-info) print."""
    parts = []
    for rdn in name.rdns:
        for attr in rdn:
            key = _SHORT_NAMES.get(attr.oid) or attr.rfc4514_attribute_name
            parts.append(f"/{key}={attr.value}")
    return "".join(parts)


def is_proxy(cert: x509.Certificate) -> bool:
    """RFC 3820 proxies carry proxyCertInfo (legacy GT2 proxies end in CN=proxy/limited proxy)."""
    try:
        cert.extensions.get_extension_for_oid(PROXY_CERT_INFO_OID)
        return True
    except x509.ExtensionNotFound:
        pass
    last = cert.subject.rdns[-1] if cert.subject.rdns else None
    return last is not None and any(
        a.oid == NameOID.COMMON_NAME and a.value in ("proxy", "limited proxy") for a in last
    )


@dataclass(frozen=True)
class ProxyInfo:
    """What the status file and health endpoint report about a published proxy."""

    subject: str
    issuer: str
    identity: str
    not_before: dt.datetime
    not_after: dt.datetime
    chain_length: int

    def seconds_left(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.timezone.utc)
        return (self.not_after - now).total_seconds()


def inspect_proxy(data: bytes, *, what: str, now: dt.datetime | None = None) -> ProxyInfo:
    """Check a proxy bundle fully; raise a specific ``ProxyError`` if it must not be published."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        blocks = split_pem(data, what=what)
    except ValueError as exc:
        raise BadInputError(f"{what}: {exc}") from None
    if not blocks.certificates:
        raise BadInputError(f"{what} holds no certificate; it is not a proxy file")
    if not blocks.key_blocks:
        raise BadInputError(f"{what} holds no private key; a proxy file carries its own key")
    try:
        key = serialization.load_pem_private_key(blocks.key_blocks[0], None)
    except TypeError:
        raise BadInputError(
            f"{what}: the proxy key is encrypted; proxies carry a clear key"
        ) from None
    except Exception as exc:
        raise BadInputError(f"{what}: the private key cannot be read ({exc})") from None
    chain = blocks.certificates
    if not keys_match(chain[0], key):
        raise KeyMismatchError(f"{what}: the private key does not match the proxy certificate")
    for child, parent in zip(chain, chain[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except Exception:
            raise BadInputError(
                f"{what}: certificate {grid_dn(child.subject)} is not signed by the next one in "
                f"the file ({grid_dn(parent.subject)}); the chain is broken"
            ) from None
    first = chain[0]
    not_after = min(
        c.not_valid_after_utc for c in chain
    )  # the chain is only as good as its weakest link
    if not_after <= now:
        raise ExpiredError(f"{what}: the proxy expired at {not_after:%Y-%m-%d %H:%M:%S} UTC")
    if first.not_valid_before_utc > now + dt.timedelta(minutes=5):
        raise ExpiredError(
            f"{what}: the proxy is not valid before {first.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"
        )
    identity = next((c for c in chain if not is_proxy(c)), chain[-1])
    return ProxyInfo(
        subject=grid_dn(first.subject),
        issuer=grid_dn(first.issuer),
        identity=grid_dn(identity.subject),
        not_before=first.not_valid_before_utc,
        not_after=not_after,
        chain_length=len(chain),
    )
