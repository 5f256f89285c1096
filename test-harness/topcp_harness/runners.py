"""How one file gets transformed: ``process`` (a subprocess) or ``docker`` (a container).

Both run the bundle's own ``transform_single_file.py <in> <out> <format>`` (the command a
ServiceX transformer pod runs) and turn its log into a ``TransformOutcome`` with
``topcp_science.local_runner``'s parser, so both report events, size and the script's ERROR
line the same way.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from topcp_science.local_runner import TransformOutcome, parse_outcome, run_transform

log = logging.getLogger(__name__)

# Where a ServiceX pod mounts things (servicex-codegen-and-science-protocol.md, section 3).
POD_GENERATED = "/generated"
POD_OUTPUT = "/servicex/output"
POD_PROXY = "/tmp/grid-security/x509up"  # noqa: S108 - a path inside the container


@dataclass(frozen=True)
class Job:
    """One attempt at one file. ``output`` lies inside ``scratch_dir`` (both host paths)."""

    request_id: str
    bundle_dir: Path
    input: str
    output: Path
    fmt: str
    scratch_dir: Path
    local_inputs: Sequence[Path] = field(default_factory=tuple)
    image: str = ""


class Runner(Protocol):
    def run(self, job: Job, on_line: Callable[[str], None]) -> TransformOutcome: ...

    def close(self) -> None: ...


class ProcessRunner:
    """Runs the transform script with this Python via ``local_runner.run_transform``."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def run(self, job: Job, on_line: Callable[[str], None]) -> TransformOutcome:
        return run_transform(job.bundle_dir, job.input, job.output, fmt=job.fmt,
                             timeout=self.timeout, on_line=on_line)

    def close(self) -> None:
        """Nothing to release: every file had its own subprocess."""


# Exit codes of `docker exec` that mean the container, not the transform, failed: docker's
# own 125 (daemon error), 126/127 (the OCI runtime could not start the command: the container is
# dying or gone) and 137 (the process was SIGKILLed: container killed or out of memory).
# transform_single_file.py never exits with these (its codes are 2-14 and 128+SIGTERM/INT/HUP).
# `docker inspect` alone is not enough: right after `docker kill` it can still say "running"
# while exec already fails, and trusting it would spend every retry on a dead container.
CONTAINER_LOST_CODES = frozenset({125, 126, 127, 137})


class DockerRunner:
    """One long-lived container per worker and request, reused with ``docker exec`` per file.

    The container is started like a ServiceX transformer pod's science container: bundle
    read-only at /generated, the request's scratch folder at /servicex/output, the grid proxy
    (if any) read-only at /tmp/grid-security/x509up, host networking, and every local input
    mounted read-only at its own path so that the paths given to ``deliver()`` work unchanged.
    Each file runs as ``bash --login -c 'python /generated/transform_single_file.py ...'``.
    """

    def __init__(self, name: str, *, image: str | None = None, x509_proxy: Path | None = None,
                 docker: str = "docker", timeout: float | None = None) -> None:
        self.name = name
        self.image_override = image
        self.x509_proxy = x509_proxy
        self.docker = docker
        self.timeout = timeout
        self.container: str | None = None
        self._request: str | None = None

    def start_command(self, job: Job, image: str) -> list[str]:
        cmd = [
            self.docker, "run", "-d", "--network", "host",
            "--name", f"topcp-harness-{self.name}-{job.request_id[:8]}",
            "--label", "topcp-harness=1",
            "-e", f"PYTHONPATH={POD_GENERATED}",
            "-v", f"{job.bundle_dir}:{POD_GENERATED}:ro",
            "-v", f"{job.scratch_dir}:{POD_OUTPUT}",
        ]
        if self.x509_proxy is not None:
            cmd += ["-v", f"{self.x509_proxy}:{POD_PROXY}:ro", "-e", f"X509_USER_PROXY={POD_PROXY}"]
        for path in sorted({str(p) for p in job.local_inputs}):
            cmd += ["-v", f"{path}:{path}:ro"]
        # Keep the container alive between files; the work arrives through docker exec.
        cmd += ["--entrypoint", "sleep", image, "infinity"]
        return cmd

    def exec_command(self, job: Job) -> list[str]:
        container = self.container or "<container>"
        out = f"{POD_OUTPUT}/{job.output.relative_to(job.scratch_dir).as_posix()}"
        script = (
            f"python {POD_GENERATED}/transform_single_file.py "
            f"{shlex.quote(job.input)} {shlex.quote(out)} {shlex.quote(job.fmt)}"
        )
        return [self.docker, "exec", container, "bash", "--login", "-c", script]

    def remove_command(self) -> list[str]:
        return [self.docker, "rm", "-f", self.container or "<container>"]

    def _ensure_container(self, job: Job, image: str) -> None:
        if self.container is not None and self._request == job.request_id:
            return
        self.close()
        done = subprocess.run(self.start_command(job, image), capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"docker run of {image} failed: {done.stderr.strip()}")
        self.container = done.stdout.strip().splitlines()[-1]
        self._request = job.request_id
        log.info("worker %s: container %s (%s) for request %s", self.name, self.container[:12],
                 image, job.request_id)

    def run(self, job: Job, on_line: Callable[[str], None]) -> TransformOutcome:
        started = time.monotonic()
        try:
            self._ensure_container(job, self.image_override or job.image)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            return TransformOutcome(125, None, None, f"ERROR: {exc}", 0.0, str(exc))
        proc = subprocess.Popen(self.exec_command(job), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines: list[str] = []
        assert proc.stdout is not None
        with proc.stdout:
            for raw in iter(proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                lines.append(line)
                on_line(line)
        outcome = parse_outcome(proc.wait(), lines, time.monotonic() - started)
        if not outcome.ok and (outcome.returncode in CONTAINER_LOST_CODES or not self._alive()):
            # The container itself died (or was removed): the retry gets a fresh one.
            log.warning("worker %s: container %s is gone; starting a new one next time",
                        self.name, (self.container or "")[:12])
            self.close()
        return outcome

    def inspect_command(self) -> list[str]:
        return [self.docker, "inspect", "-f", "{{.State.Running}}", self.container or "<container>"]

    def _alive(self) -> bool:
        if self.container is None:
            return False
        done = subprocess.run(self.inspect_command(), capture_output=True, text=True, timeout=60,
                              check=False)
        return done.returncode == 0 and done.stdout.strip() == "true"

    def close(self) -> None:
        """Remove this worker's container (by its ID)."""
        if self.container is None:
            return
        subprocess.run(self.remove_command(), capture_output=True, timeout=60, check=False)
        self.container = None
        self._request = None
