"""Settings of one harness instance (what ``serve`` and ``python -m topcp_harness`` accept)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

RUNNERS = ("process", "docker")


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
    failed file gets before it is reported failed.
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
    status_hold: float = 8.0

    def __post_init__(self) -> None:
        if self.runner not in RUNNERS:
            raise ValueError(f"runner must be one of {', '.join(RUNNERS)}, got {self.runner!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, got {self.retries}")
        if self.status_hold < 0:
            raise ValueError(f"status_hold must be 0 or more seconds, got {self.status_hold}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        object.__setattr__(self, "state_dir", Path(self.state_dir).expanduser().resolve())
        object.__setattr__(self, "s3", S3Settings.coerce(self.s3))
        if self.x509_proxy is not None:
            object.__setattr__(self, "x509_proxy", Path(self.x509_proxy).expanduser().resolve())

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1
