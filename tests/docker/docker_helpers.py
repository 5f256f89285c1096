"""Helpers for the image and stack tests (imported by name: conftest modules are not)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_VARS = {
    "codegen": "TOPCP_CODEGEN_IMAGE",
    "science": "TOPCP_SCIENCE_PROD_IMAGE",
    "emulated": "TOPCP_SCIENCE_IMAGE",
    "x509": "TOPCP_X509_IMAGE",
    "s3": "TOPCP_S3_IMAGE",
    "harness": "TOPCP_HARNESS_IMAGE",
}


def dotenv() -> dict[str, str]:
    """The repository's .env (what docker-compose and build-images.sh read)."""
    values: dict[str, str] = {}
    for line in (REPO_ROOT / ".env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def image_name(kind: str) -> str:
    var = IMAGE_VARS[kind]
    return os.environ.get(var) or dotenv()[var]


def require_images(kinds) -> dict[str, str]:
    """Image names of ``kinds``; skips the test when one is not built (build-images.sh)."""
    import pytest

    names = {kind: image_name(kind) for kind in kinds}
    missing = [n for n in names.values()
               if docker("image", "inspect", n, check=False, timeout=30).returncode != 0]
    if missing:
        pytest.skip(f"images not built: {', '.join(missing)} (run docker/build-images.sh)")
    return names


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run the docker CLI (argument list, never a shell)."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def engine_up() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_test_proxy() -> bytes:
    """A real RFC 3820 proxy of a throwaway user certificate (self-issued test CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from topcp_x509_proxy.credentials import UserCredentials
    from topcp_x509_proxy.rfc3820 import make_proxy

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docker-test CA")])
    user_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    user = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "test"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, "Docker Tester")]))
        .issuer_name(ca_name)
        .public_key(user_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    creds = UserCredentials(chain=[user], key=user_key, key_was_encrypted=False)
    return make_proxy(creds, dt.timedelta(hours=2), key_bits=2048)
