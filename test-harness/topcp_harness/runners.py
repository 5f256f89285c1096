"""How one file gets transformed: ``process`` (a subprocess) or ``docker`` (a container).

Both run the bundle's own ``transform_single_file.py <in> <out> <format>`` (the command a
ServiceX transformer pod runs) and turn its log into a ``TransformOutcome`` with
``topcp_science.local_runner``'s parser, so both report events, size and the script's ERROR
line the same way.
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from topcp_science.local_runner import (
    TERMINATE_GRACE_S,
    TransformOutcome,
    parse_outcome,
    run_transform,
)

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


# Exit codes of an exec that mean the container, not the transform, failed: the engine's own
# 125 (daemon error), 126/127 (the OCI runtime could not start the command: the container is
# dying or gone) and 137 (the process was SIGKILLed: container killed or out of memory).
# transform_single_file.py never exits with these (its codes are 2-14 and 128+SIGTERM/INT/HUP).
# The container's state alone is not enough: right after a kill it can still say "running"
# while exec already fails, and trusting it would spend every retry on a dead container.
CONTAINER_LOST_CODES = frozenset({125, 126, 127, 137})
# The label every science container of the harness carries (.ci/docker-e2e looks for leftovers).
HARNESS_LABEL = "topcp-harness"


def docker_client(timeout: float = 300):
    """A Docker SDK client for the engine ``DOCKER_HOST`` (default: the local socket) names."""
    import docker

    return docker.from_env(timeout=timeout)


class DockerRunner:
    """One long-lived container per worker and request, reused with an exec per file.

    The container is started like a ServiceX transformer pod's science container: bundle
    read-only at /generated, the request's scratch folder at /servicex/output, the grid proxy
    (if any) read-only at /tmp/grid-security/x509up, host networking, and every local input
    mounted read-only at its own path so that the paths given to ``deliver()`` work unchanged.
    Each file runs as ``bash --login -c 'python /generated/transform_single_file.py ...'``.
    The engine is driven with the Docker SDK for Python (``docker``): container create/start,
    exec with its output streamed line by line, the exec's exit code, kill and removal by ID.
    """

    def __init__(self, name: str, *, image: str | None = None, x509_proxy: Path | None = None,
                 timeout: float | None = None, client: object | None = None) -> None:
        self.name = name
        self.image_override = image
        self.x509_proxy = x509_proxy
        self.timeout = timeout
        self._client = client
        self.container: str | None = None  # the container's ID
        self._request: str | None = None

    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    def container_spec(self, job: Job, image: str) -> dict[str, object]:
        """Keyword arguments of ``client.containers.run`` for this worker's container."""
        volumes: dict[str, dict[str, str]] = {
            str(job.bundle_dir): {"bind": POD_GENERATED, "mode": "ro"},
            str(job.scratch_dir): {"bind": POD_OUTPUT, "mode": "rw"},
        }
        environment = {"PYTHONPATH": POD_GENERATED}
        if self.x509_proxy is not None:
            volumes[str(self.x509_proxy)] = {"bind": POD_PROXY, "mode": "ro"}
            environment["X509_USER_PROXY"] = POD_PROXY
        for path in sorted({str(p) for p in job.local_inputs}):
            volumes[path] = {"bind": path, "mode": "ro"}
        return {
            "image": image,
            # Keep the container alive between files; the work arrives through exec.
            "entrypoint": ["sleep"],
            "command": ["infinity"],
            "name": f"topcp-harness-{self.name}-{job.request_id[:8]}",
            "labels": {HARNESS_LABEL: "1"},
            "network_mode": "host",
            "environment": environment,
            "volumes": volumes,
            "detach": True,
        }

    def exec_argv(self, job: Job) -> list[str]:
        """The command each file runs with inside the container (the shell sees 3 arguments)."""
        out = f"{POD_OUTPUT}/{job.output.relative_to(job.scratch_dir).as_posix()}"
        script = (
            f"python {POD_GENERATED}/transform_single_file.py "
            f"{shlex.quote(job.input)} {shlex.quote(out)} {shlex.quote(job.fmt)}"
        )
        return ["bash", "--login", "-c", script]

    def exec_environment(self) -> dict[str, str]:
        """The file timeout goes to the script, which reports it with its own exit code."""
        return {} if self.timeout is None else {"TOPCP_TIMEOUT_S": str(self.timeout)}

    def _ensure_container(self, job: Job, image: str) -> None:
        if self.container is not None and self._request == job.request_id:
            return
        self.close()
        container = self.client.containers.run(**self.container_spec(job, image))
        self.container = container.id
        self._request = job.request_id
        log.info("worker %s: container %s (%s) for request %s", self.name, self.container[:12],
                 image, job.request_id)

    def _exec_create(self, job: Job) -> str:
        created = self.client.api.exec_create(
            self.container, self.exec_argv(job), stdout=True, stderr=True,
            environment=self.exec_environment())
        return created["Id"]

    def run(self, job: Job, on_line: Callable[[str], None]) -> TransformOutcome:
        import docker.errors

        started = time.monotonic()
        image = self.image_override or job.image
        try:
            self._ensure_container(job, image)
            try:
                exec_id = self._exec_create(job)
            except docker.errors.APIError as exc:
                if exc.status_code not in (404, 409):  # anything but "gone" / "not running"
                    raise
                # The container died between files (nothing of this file ran yet): replace it.
                log.warning("worker %s: container %s is gone (%s); starting a new one",
                            self.name, (self.container or "")[:12], exc.explanation)
                self.close()
                self._ensure_container(job, image)
                exec_id = self._exec_create(job)
        except (docker.errors.DockerException, OSError) as exc:
            self.close()
            message = f"docker: cannot run {image}: {exc}"
            return TransformOutcome(125, None, None, f"ERROR: {message}", 0.0, message)
        lines = self._stream(exec_id, on_line)
        returncode = self._exit_code(exec_id)
        outcome = parse_outcome(returncode, lines, time.monotonic() - started)
        if not outcome.ok and (outcome.returncode in CONTAINER_LOST_CODES or not self._alive()):
            # The container itself died (or was removed): the retry gets a fresh one.
            log.warning("worker %s: container %s is gone; starting a new one next time",
                        self.name, (self.container or "")[:12])
            self.close()
        return outcome

    def _stream(self, exec_id: str, on_line: Callable[[str], None]) -> list[str]:
        """Start the exec and hand each output line (stdout and stderr) to ``on_line``.

        With a file timeout, a watchdog kills the container once the script had
        ``timeout + TERMINATE_GRACE_S`` to report its own timeout; the stream then ends and the
        exit code (137) says the container is gone.
        """
        import codecs

        import docker.errors

        watchdog = None
        if self.timeout is not None:
            watchdog = threading.Timer(self.timeout + TERMINATE_GRACE_S, self._kill)
            watchdog.daemon = True
            watchdog.start()
        lines: list[str] = []
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = ""

        def emit(text: str) -> None:
            line = text.rstrip("\r")
            lines.append(line)
            on_line(line)

        try:
            for chunk in self.client.api.exec_start(exec_id, stream=True):
                pending += decoder.decode(chunk)
                *complete, pending = pending.split("\n")
                for text in complete:
                    emit(text)
            pending += decoder.decode(b"", final=True)
        except (docker.errors.DockerException, OSError) as exc:  # the engine went away mid-file
            pending += f"\nERROR: docker: the exec stream broke off: {exc}"
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if pending:
            for text in pending.split("\n"):
                emit(text)
        return lines

    def _exit_code(self, exec_id: str) -> int:
        """The exec's exit code; a container killed mid-exec reports 137."""
        import docker.errors

        deadline = time.monotonic() + 10
        while True:
            try:
                info = self.client.api.exec_inspect(exec_id)
            except docker.errors.DockerException:
                return 125
            if info.get("ExitCode") is not None and not info.get("Running"):
                return int(info["ExitCode"])
            if time.monotonic() > deadline:
                return 137  # the stream ended but the exec never did: treat the container as lost
            time.sleep(0.1)

    def _kill(self) -> None:
        log.warning("worker %s: file timeout; killing container %s", self.name,
                    (self.container or "")[:12])
        try:
            self.client.containers.get(self.container).kill()
        except Exception:  # already gone: the stream ends anyway
            log.debug("kill of %s failed", self.container, exc_info=True)

    def _alive(self) -> bool:
        if self.container is None:
            return False
        try:
            return self.client.containers.get(self.container).status == "running"
        except Exception:  # gone, or the engine does not answer: either way not usable
            return False

    def close(self) -> None:
        """Remove this worker's container (by its ID), with its anonymous volumes."""
        if self.container is None:
            return
        try:
            self.client.api.remove_container(self.container, force=True, v=True)
        except Exception:  # already removed (e.g. by the user): nothing left to release
            log.debug("removal of %s failed", self.container, exc_info=True)
        self.container = None
        self._request = None
