"""Settings of one harness instance (what ``serve`` and ``python -m topcp_harness`` accept)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

RUNNERS = ("process", "docker")

#: The longest a status reply may be held (Harness.status_for_client). servicex 3.3.1 reads
#: the status with httpx's default 5 s timeout (servicex_adapter.py get_transform_status, no
#: timeout argument; httpx 0.28 Timeout(5.0)); a hold at or above it makes every held poll
#: time out, and after ~5 min without a change deliver() dies with httpx.ReadTimeout.
MAX_STATUS_HOLD_S = 3.0


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@dataclass(frozen=True)
class S3Settings:
    """An S3 endpoint the harness writes to and the client downloads from.

    ``endpoint`` is ``host:port`` without a scheme, exactly what goes into the transform status
    (``minio-endpoint``); ``secure`` selects https.
    """

    endpoint: str
    access_key: str
    secret_key: str
    secure: bool = False

    @property
    def url(self) -> str:
        return ("https://" if self.secure else "http://") + self.endpoint

    @classmethod
    def coerce(cls, value: S3Settings | dict | None) -> S3Settings | None:
        """Accept a dict (``endpoint``, ``access_key``, ``secret_key``, ``secure``) too."""
        if value is None or isinstance(value, S3Settings):
            return value
        missing = [k for k in ("endpoint", "access_key", "secret_key") if not value.get(k)]
        if missing:
            raise ValueError(f"S3 settings need {', '.join(missing)} (got keys {sorted(value)})")
        endpoint = str(value["endpoint"])
        secure = bool(value.get("secure", False))
        for scheme in ("http://", "https://"):
            if endpoint.startswith(scheme):
                secure = scheme == "https://"
                endpoint = endpoint[len(scheme):]
        return cls(endpoint.rstrip("/"), str(value["access_key"]), str(value["secret_key"]), secure)


def default_state_dir() -> Path:
    """Where state lives unless told: ``$TOPCP_HARNESS_STATE`` or ``~/.cache/topcp-harness``."""
    env = os.environ.get("TOPCP_HARNESS_STATE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "topcp-harness"


@dataclass(frozen=True)
class HarnessConfig:
    """Everything a harness instance needs; every field has a usable default.

    ``port=0`` picks a free port (tests); ``workers=None`` means one per core; ``codegen_url``
    None runs the topcp code generator embedded on its own 127.0.0.1 port; ``s3`` None starts a
    SeaweedFS server with its data under ``state_dir``; ``image`` overrides the science image
    the code generator names (docker runner only); ``retries`` is how many more attempts a
    file gets when its worker or container was lost (killed): like ServiceX, a file whose
    transform itself failed is not tried again.

    Safety: ``token`` (None: none) is the refresh token clients put in servicex.yaml; with
    one, every API call needs it. Without one the harness listens on loopback only, unless
    ``insecure_bind`` says the address is private anyway (inside a container whose port is
    published on 127.0.0.1). ``data_dirs`` are the folders submitted local paths must lie in
    (None: the working directory at start); ``allow_remote`` lets the transform fetch
    ``root://`` or ``https://`` inputs. ``expire_days`` deletes finished requests that old
    (0: never), as ServiceX's minio cleanup does (helm values ``minioCleanup.maxAge: 30``).
    """

    host: str = "127.0.0.1"
    port: int = 5001
    workers: int | None = None
    runner: str = "process"
    state_dir: Path = field(default_factory=default_state_dir)
    image: str | None = None
    s3: S3Settings | None = None
    codegen_url: str | None = None
    retries: int = 2
    file_timeout: float | None = None
    x509_proxy: Path | None = None
    s3_volumes: int = 200
    name: str = "topcp-harness"
    # Seconds a status reply that would repeat the previous one waits for the next change
    # (Harness.status_for_client); 0 answers at once, like a ServiceX server.
    status_hold: float = MAX_STATUS_HOLD_S
    token: str | None = None
    insecure_bind: bool = False
    data_dirs: tuple[Path, ...] | None = None
    allow_remote: bool = False
    expire_days: float = 30.0

    def __post_init__(self) -> None:
        if self.runner not in RUNNERS:
            raise ValueError(f"runner must be one of {', '.join(RUNNERS)}, got {self.runner!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, got {self.retries}")
        if not 0 <= self.status_hold <= MAX_STATUS_HOLD_S:
            raise ValueError(
                f"status_hold must be 0 to {MAX_STATUS_HOLD_S:g} seconds, got {self.status_hold:g}"
                " (servicex reads the status with a 5 s timeout)")
        if self.expire_days < 0:
            raise ValueError(f"expire_days must be 0 (never) or more, got {self.expire_days:g}")
        if self.token is not None and len(self.token) < 16:
            raise ValueError("the API token must be at least 16 characters")
        if not is_loopback(self.host) and self.token is None and not self.insecure_bind:
            raise ValueError(
                f"refusing to listen on {self.host} without a token: anyone who can reach it "
                "could run transforms as you and read every output. Keep the default "
                "127.0.0.1, or require a token (--auth)")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        object.__setattr__(self, "state_dir", Path(self.state_dir).expanduser().resolve())
        object.__setattr__(self, "s3", S3Settings.coerce(self.s3))
        dirs = (Path.cwd(),) if self.data_dirs is None else self.data_dirs
        object.__setattr__(self, "data_dirs",
                           tuple(Path(d).expanduser().resolve() for d in dirs))
        if self.x509_proxy is not None:
            object.__setattr__(self, "x509_proxy", Path(self.x509_proxy).expanduser().resolve())

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1
