"""Helpers for the image and stack tests (imported by name: conftest modules are not).

Containers are driven with the Docker SDK for Python (``docker``), never the CLI.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

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


@functools.lru_cache(maxsize=1)
def client() -> docker.DockerClient:
    """The Docker SDK's client for the engine ``DOCKER_HOST`` names (default: local socket)."""
    return docker.from_env(timeout=300)


def require_images(kinds) -> dict[str, str]:
    """Image names of ``kinds``; skips the test when one is not built (build-images.sh)."""
    import pytest

    names = {kind: image_name(kind) for kind in kinds}
    missing = [n for n in names.values() if not image_exists(n)]
    if missing:
        pytest.skip(f"images not built: {', '.join(missing)} (run docker/build-images.sh)")
    return names


def engine_up() -> bool:
    try:
        return bool(client().ping())
    except docker.errors.DockerException:
        return False


def image_exists(name: str) -> bool:
    try:
        client().images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


@dataclass(frozen=True)
class Ran:
    """What one container run left: its exit code and its output, split by stream."""

    returncode: int
    stdout: str
    stderr: str


def run(image: str, command: list[str] | None = None, *, timeout: float = 300,
        **options: object) -> Ran:
    """``docker run --rm`` through the SDK: start, wait (bounded), collect the logs, remove.

    ``options`` are ``containers.run`` keyword arguments (``network_mode``, ``volumes``,
    ``user``, ``entrypoint``, ``environment``...). The container is removed by its ID, with its
    anonymous volumes, however the run ends.
    """
    container = client().containers.run(image, command, detach=True, **options)
    try:
        code = int(container.wait(timeout=timeout)["StatusCode"])
        out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    finally:
        container.remove(force=True, v=True)
    return Ran(code, out, err)


def start(image: str, command: list[str] | None = None, **options: object) -> Container:
    """A detached container (the caller removes it: the ``container_ids`` fixture does)."""
    return client().containers.run(image, command, detach=True, **options)


def health(container: Container) -> str:
    """The container's health status (``starting``, ``healthy``, ``unhealthy``)."""
    container.reload()
    return container.attrs["State"].get("Health", {}).get("Status", "none")


def remove(container_id: str) -> None:
    """Remove a container by ID with its anonymous volumes; gone already is fine."""
    try:
        client().api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass


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
