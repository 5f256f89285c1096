"""A throwaway PKI for the x509-proxy tests: CA, user certificates, encrypted keys.

Everything is made with ``cryptography`` at test time; nothing here is a real credential.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PASSPHRASE = "correct horse battery staple"


def _name(*cns: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "org"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
            *(x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in cns),
        ]
    )


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Ca:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def issue_user(
        self,
        cn: str,
        key: rsa.RSAPrivateKey,
        *,
        not_before: dt.datetime,
        not_after: dt.datetime,
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, True, True, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )


def make_ca() -> Ca:
    key = new_key()
    now = dt.datetime.now(dt.timezone.utc)
    name = _name("Throwaway Test CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=60))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Ca(cert, key)


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(
    key: rsa.RSAPrivateKey, passphrase: str | None = PASSPHRASE, *, legacy: bool = False
) -> bytes:
    enc = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if legacy
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


def write(path: Path, data: bytes | str, mode: int = 0o644) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


def split_proxy_file(data: bytes) -> tuple[list[x509.Certificate], list[bytes]]:
    """Certificates and key blocks of a proxy bundle, in order (independent of the package)."""
    certs = x509.load_pem_x509_certificates(data)
    keys = []
    marker = b"-----BEGIN RSA PRIVATE KEY-----"
    if marker in data:
        start = data.index(marker)
        end = data.index(b"-----END RSA PRIVATE KEY-----") + len(b"-----END RSA PRIVATE KEY-----")
        keys.append(data[start:end] + b"\n")
    return certs, keys


def openssl_verify(proxy_file: Path, ca_file: Path, workdir: Path) -> subprocess.CompletedProcess:
    """``openssl verify -allow_proxy_certs``: the proxy against the CA, user chain as untrusted."""
    certs, _ = split_proxy_file(proxy_file.read_bytes())
    leaf = write(workdir / "leaf.pem", cert_pem(certs[0]))
    rest = write(workdir / "untrusted.pem", cert_pem(*certs[1:]))
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-allow_proxy_certs",
            "-CAfile",
            str(ca_file),
            "-untrusted",
            str(rest),
            str(leaf),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
