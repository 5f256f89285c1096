"""Load and check the user's certificate and private key (shared by ``voms`` and ``rfc3820``).

Why: voms-proxy-init's own errors are terse ("bad decrypt ... maybe wrong password"); checking
the files ourselves first gives each mistake its own message and exit code, and the same
checks protect the ``rfc3820`` signer.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .errors import (
    BadInputError,
    ExpiredError,
    InsecureKeyError,
    KeyMismatchError,
    MissingFileError,
    WrongPassphraseError,
)
from .pem import PemBlocks, split_pem


@dataclass(frozen=True)
class UserCredentials:
    """The end-entity certificate (first in ``chain``) and its decrypted private key."""

    chain: list[x509.Certificate]
    key: PrivateKeyTypes = field(repr=False)
    key_was_encrypted: bool
    #: Kept only to feed voms-proxy-init's stdin; never printed (repr=False).
    passphrase: bytes | None = field(default=None, repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


def read_file(path: Path, *, what: str, option: str) -> bytes:
    """Read a whole file, turning absence and permission problems into ``MissingFileError``."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(
            f"{what} {path} does not exist; check the path given with {option}"
        ) from None
    except IsADirectoryError:
        raise MissingFileError(
            f"{what} {path} is a directory, expected a file ({option})"
        ) from None
    except PermissionError:
        raise MissingFileError(
            f"{what} {path} cannot be read by this process (uid {os.getuid()}); "
            "check its owner and permissions"
        ) from None


def check_private_file_mode(path: Path, *, what: str) -> None:
    """Refuse key material that group or others can access, as grid tools do."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise MissingFileError(f"{what} {path} does not exist") from None
    if not stat.S_ISREG(st.st_mode):  # a chmod would not help: say what is wrong instead
        raise MissingFileError(f"{what} {path} is not a regular file (a directory?); give the "
                               "path of the PEM file itself")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise InsecureKeyError(
            f"{what} {path} has mode {mode:04o}: group or others can read it. "
            f"Protect it and try again: chmod 600 {path}"
        )


def read_passphrase(path: Path | None) -> bytes | None:
    """The passphrase from its file, without the trailing newline editors add."""
    if path is None:
        return None
    data = read_file(path, what="passphrase file", option="--passphrase-file")
    return data.rstrip(b"\r\n")


def check_validity(cert: x509.Certificate, *, what: str, now: dt.datetime | None = None) -> None:
    """Raise ``ExpiredError`` unless ``cert`` is valid at ``now``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    subject = cert.subject.rfc4514_string()
    if cert.not_valid_after_utc <= now:
        raise ExpiredError(
            f"{what} ({subject}) expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC; "
            "renew it with your certification authority"
        )
    if cert.not_valid_before_utc > now:
        raise ExpiredError(
            f"{what} ({subject}) is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC; check the system clock"
        )


def keys_match(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    """Whether ``key`` is the private half of ``cert``'s public key."""
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return cert.public_key().public_bytes(enc, fmt) == key.public_key().public_bytes(enc, fmt)


def _read_pem(path: Path, *, what: str, option: str) -> PemBlocks:
    """The PEM blocks of a user file; unreadable or malformed files are ``ProxyError``s."""
    data = read_file(path, what=what, option=option)
    try:
        return split_pem(data, what=str(path))
    except ValueError as exc:
        raise BadInputError(f"{what} {path}: {exc}") from None


def load_certificate_chain(path: Path) -> list[x509.Certificate]:
    """Every certificate in the user's certificate file, end-entity first."""
    blocks = _read_pem(path, what="certificate", option="--cert")
    if not blocks.certificates:
        raise BadInputError(
            f"certificate {path} holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----'); "
            "if you have a .p12 file, extract it with: "
            "openssl pkcs12 -in cert.p12 -clcerts -nokeys -out usercert.pem"
        )
    return blocks.certificates


def load_private_key(path: Path, passphrase: bytes | None) -> tuple[PrivateKeyTypes, bool]:
    """Decrypt the user's key; return it and whether it was encrypted."""
    check_private_file_mode(path, what="private key")
    blocks = _read_pem(path, what="private key", option="--key")
    if not blocks.key_blocks:
        raise BadInputError(
            f"private key {path} holds no PEM private key (expected '-----BEGIN ... PRIVATE KEY-----'); "
            "from a .p12 file: openssl pkcs12 -in cert.p12 -nocerts -out userkey.pem"
        )
    block = blocks.key_blocks[0]
    try:
        return serialization.load_pem_private_key(block, passphrase), passphrase is not None
    except TypeError as exc:
        text = str(exc)
        if "not encrypted" in text:
            # A passphrase for a clear key is harmless; load it as it is.
            return serialization.load_pem_private_key(block, None), False
        raise WrongPassphraseError(
            f"private key {path} is encrypted but no passphrase was given; "
            "pass --passphrase-file (or X509_PROXY_PASSPHRASE_FILE)"
        ) from None
    except ValueError as exc:
        if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise WrongPassphraseError(
                f"wrong passphrase for private key {path}: it could not be decrypted with the "
                "passphrase from --passphrase-file (check for a stray space or the wrong file)"
            ) from None
        raise BadInputError(f"private key {path} could not be read: {exc}") from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for exotic ciphers
        raise BadInputError(
            f"private key {path} could not be read ({type(exc).__name__}: {exc})"
        ) from None


def load_user_credentials(
    cert_path: Path,
    key_path: Path,
    passphrase_file: Path | None,
    *,
    now: dt.datetime | None = None,
) -> UserCredentials:
    """Load, decrypt and cross-check the user's certificate and key.

    Order matters for the messages: missing files first, then key permissions, then the
    passphrase, then expiry, then the cert/key pair.
    """
    for path, what, option in (
        (cert_path, "certificate", "--cert"),
        (key_path, "private key", "--key"),
    ):
        if not path.exists():
            raise MissingFileError(
                f"{what} {path} does not exist; check the path given with {option}"
            )
    passphrase = read_passphrase(passphrase_file)
    chain = load_certificate_chain(cert_path)
    key, encrypted = load_private_key(key_path, passphrase)
    check_validity(chain[0], what=f"certificate {cert_path}", now=now)
    if not keys_match(chain[0], key):
        raise KeyMismatchError(
            f"private key {key_path} does not belong to certificate {cert_path} "
            f"({chain[0].subject.rfc4514_string()}); use the usercert.pem/userkey.pem pair "
            "exported from the same .p12"
        )
    return UserCredentials(
        chain=chain,
        key=key,
        key_was_encrypted=encrypted,
        passphrase=passphrase if encrypted else None,
    )
