"""The rfc3820 mode signs a real RFC 3820 proxy that OpenSSL accepts against the CA."""

from __future__ import annotations

import datetime as dt
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from topcp_x509_proxy.credentials import load_user_credentials
from topcp_x509_proxy.errors import UsageError
from topcp_x509_proxy.rfc3820 import make_proxy

from .conftest import run_cli
from .helpers import credential_args
from .pki import PASSPHRASE, cert_pem, key_pem, new_key, openssl_verify, split_proxy_file, write

PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")


def test_proxy_verifies_against_the_ca_with_openssl(pki, tmp_path: Path, openssl) -> None:
    out = tmp_path / "gs" / "x509up"
    started = dt.datetime.now(dt.timezone.utc)
    done = run_cli(credential_args(pki, "rfc3820", out, "--lifetime", "2h", "--once"))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    proxy = split_proxy_file(out.read_bytes())[0][0]
    issued = proxy.not_valid_after_utc - dt.timedelta(hours=2)  # requested --lifetime 2h
    assert started - dt.timedelta(seconds=1) <= issued <= dt.datetime.now(dt.timezone.utc)
    verified = openssl_verify(out, pki.ca_file, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith(": OK")


def test_openssl_reads_the_proxy_extensions_as_rfc3820(pki, tmp_path: Path, openssl) -> None:
    creds = load_user_credentials(pki.cert, pki.key, pki.passphrase_file)
    out = write(tmp_path / "x509up", make_proxy(creds, dt.timedelta(hours=1)), 0o600)
    text = subprocess.run(
        ["openssl", "x509", "-in", str(out), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Proxy Certificate Information: critical" in text
    assert "Inherit all" in text
    assert "X509v3 Key Usage: critical" in text
    assert "Digital Signature, Key Encipherment" in text


def test_proxy_structure_follows_rfc3820(pki) -> None:
    creds = load_user_credentials(pki.cert, pki.key, pki.passphrase_file)
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    data = make_proxy(creds, dt.timedelta(hours=3))
    certs, keys = split_proxy_file(data)
    proxy, eec = certs[0], certs[1]

    # Layout like voms-proxy-init: proxy cert, proxy key, then the user's certificate.
    assert data.index(b"BEGIN CERTIFICATE") < data.index(b"BEGIN RSA PRIVATE KEY")
    assert len(certs) == 2 and eec == creds.certificate and len(keys) == 1

    # Subject = issuer DN + CN=<serial>; issued and signed by the user certificate.
    assert proxy.issuer == eec.subject
    assert list(proxy.subject.rdns[:-1]) == list(eec.subject.rdns)
    assert proxy.subject.rdns[-1].get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == str(
        proxy.serial_number
    )
    proxy.verify_directly_issued_by(eec)

    ext = proxy.extensions.get_extension_for_oid(PROXY_CERT_INFO)
    assert ext.critical
    # SEQUENCE { SEQUENCE { OID id-ppl-inheritAll (1.3.6.1.5.5.7.21.1) } }
    assert ext.value.value == bytes.fromhex("300c300a06082b06010505071501")
    ku = proxy.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_encipherment
    assert not ku.value.key_cert_sign

    key = serialization.load_pem_private_key(keys[0], None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048
    assert key.public_key().public_numbers() == proxy.public_key().public_numbers()
    assert key.public_key().public_numbers() != eec.public_key().public_numbers()

    # The requested lifetime, counted from issuance (whole seconds in X.509).
    after = dt.datetime.now(dt.timezone.utc)
    assert (
        before + dt.timedelta(hours=3) <= proxy.not_valid_after_utc <= after + dt.timedelta(hours=3)
    )
    assert proxy.not_valid_before_utc <= before


def test_lifetime_never_exceeds_the_user_certificate(pki, tmp_path: Path, caplog) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    k = new_key()
    short = pki.ca.issue_user(
        "Soon Gone", k, not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(hours=1)
    )
    cert = write(tmp_path / "c.pem", cert_pem(short))
    key = write(tmp_path / "k.pem", key_pem(k), 0o600)
    creds = load_user_credentials(cert, key, pki.passphrase_file)
    proxy = x509.load_pem_x509_certificate(make_proxy(creds, dt.timedelta(hours=12)))
    assert proxy.not_valid_after_utc == short.not_valid_after_utc
    assert "cut to its expiry" in caplog.text


def test_small_proxy_keys_are_refused(pki) -> None:
    creds = load_user_credentials(pki.cert, pki.key, pki.passphrase_file)
    with pytest.raises(UsageError, match="key-bits"):
        make_proxy(creds, dt.timedelta(hours=1), key_bits=1024)


def test_legacy_encrypted_key_and_clear_key_are_accepted(
    pki, tmp_path: Path, _pki_material
) -> None:
    """userkey.pem from `openssl pkcs12 -nocerts` is 'Proc-Type: 4,ENCRYPTED' PKCS#1."""
    key = serialization.load_pem_private_key(_pki_material["user_key"], PASSPHRASE.encode())
    legacy = write(tmp_path / "legacy.pem", key_pem(key, legacy=True), 0o600)
    assert b"Proc-Type: 4,ENCRYPTED" in legacy.read_bytes()
    assert load_user_credentials(pki.cert, legacy, pki.passphrase_file).key_was_encrypted
    clear = write(tmp_path / "clear.pem", key_pem(key, None), 0o400)
    assert not load_user_credentials(pki.cert, clear, None).key_was_encrypted
