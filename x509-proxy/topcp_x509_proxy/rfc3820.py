"""Sign an RFC 3820 proxy certificate with the user's key (no VOMS attributes).

Why: sites and test setups that accept plain proxies need no VOMS server; the result has the
same layout grid-proxy-init writes (proxy cert, proxy key, user chain), so XRootD and friends
read it unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .credentials import UserCredentials
from .errors import ExpiredError, UsageError
from .proxyfile import PROXY_CERT_INFO_OID

log = logging.getLogger(__name__)

#: DER of ProxyCertInfo ::= SEQUENCE { proxyPolicy SEQUENCE { policyLanguage id-ppl-inheritAll } }
#: (no pCPathLenConstraint: unlimited, as grid-proxy-init does by default).
ID_PPL_INHERIT_ALL = "1.3.6.1.5.5.7.21.1"
PROXY_CERT_INFO_INHERIT_ALL = bytes.fromhex("300c300a06082b06010505071501")
ALLOWED_KEY_BITS = (2048, 3072, 4096)
#: Clock skew allowance for notBefore, as voms-proxy-init and grid-proxy-init do.
BACKDATE = dt.timedelta(minutes=5)


def make_proxy(
    creds: UserCredentials,
    lifetime: dt.timedelta,
    *,
    key_bits: int = 2048,
    now: dt.datetime | None = None,
) -> bytes:
    """Return the PEM bundle: proxy certificate, its clear RSA key, then the user's chain.

    The proxy ends ``lifetime`` after ``now``, or at the user's certificate expiry if sooner.
    """
    if key_bits not in ALLOWED_KEY_BITS:
        raise UsageError(
            f"--key-bits {key_bits}: use one of {', '.join(map(str, ALLOWED_KEY_BITS))}"
        )
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    eec = creds.certificate
    not_after = now + lifetime
    if not_after > eec.not_valid_after_utc:
        log.warning(
            "requested lifetime ends after the user certificate; proxy cut to its expiry %s UTC",
            eec.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S"),
        )
        not_after = eec.not_valid_after_utc
    if not_after <= now:
        raise ExpiredError(f"user certificate {grid_name(eec)} has expired; renew it")
    not_before = max(now - BACKDATE, eec.not_valid_before_utc)

    proxy_key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    serial = secrets.randbits(62) | 1
    subject = x509.Name(
        [
            *eec.subject.rdns,
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, str(serial))]),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(eec.subject)
        .public_key(proxy_key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.UnrecognizedExtension(PROXY_CERT_INFO_OID, PROXY_CERT_INFO_INHERIT_ALL),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    try:
        ski = eec.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    except x509.ExtensionNotFound:
        pass
    signer = creds.key
    algorithm = (
        None
        if not isinstance(signer, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
        else hashes.SHA256()
    )
    cert = builder.sign(signer, algorithm)  # type: ignore[arg-type]
    parts = [
        cert.public_bytes(serialization.Encoding.PEM),
        proxy_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        *(c.public_bytes(serialization.Encoding.PEM) for c in creds.chain),
    ]
    return b"".join(parts)


def grid_name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()
