"""Split PEM bundles into certificates and private keys.

Why: a proxy file is one PEM bundle (proxy cert, proxy key, user chain) and a ``usercert.pem``
may carry intermediates; every mode needs to read these the same, strict way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.DOTALL)
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}


@dataclass(frozen=True)
class PemBlocks:
    """The certificate and private-key blocks of a PEM file, in file order."""

    certificates: list[x509.Certificate]
    key_blocks: list[bytes]


def split_pem(data: bytes, *, what: str) -> PemBlocks:
    """Parse every certificate and collect key blocks; raise ``ValueError`` on broken PEM.

    ``what`` names the file in messages (never its content: it may hold key material).
    """
    certs: list[x509.Certificate] = []
    keys: list[bytes] = []
    for index, m in enumerate(_BLOCK.finditer(data), start=1):
        label = m.group(1)
        if label in (b"CERTIFICATE", b"TRUSTED CERTIFICATE"):
            try:
                certs.append(x509.load_pem_x509_certificate(m.group(0)))
            except ValueError as exc:
                raise ValueError(
                    f"{what}: PEM block {index} is not a valid certificate ({exc})"
                ) from None
        elif label in _KEY_LABELS:
            keys.append(m.group(0))
    return PemBlocks(certs, keys)
