"""The worker pool: one task per input file, N workers, retries, uploads, progress logs.

A task is a file id. A worker claims it in the state database (so a canceled or deleted
request is skipped), runs one attempt with its runner, and either uploads the output to the
request's bucket and records ``total-bytes`` as the stored object's size, or puts the file back
at the end of the queue until it has had ``1 + retries`` attempts. Every attempt writes its own
log (header, the script's lines with elapsed time, footer) under the request's folder.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import state as st
from .runners import Job, Runner
from .state import StateDB
from .storage import S3Store, StorageError

log = logging.getLogger(__name__)

_STOP = -1


def local_path(name: str) -> Path | None:
    """The local file behind a file-list entry (absolute path or file:// URL), else None."""
    if name.startswith("file://"):
        return Path(name[len("file://"):])
    if "://" in name:
        return None
    return Path(name)


class RequestPaths:
    """The on-disk layout of one request under ``<state>/requests/<id>``."""

    def __init__(self, state_dir: Path, request_id: str) -> None:
        self.root = state_dir / "requests" / request_id
        self.bundle = self.root / "generated"
        self.scratch = self.root / "scratch"
        self.logs = self.root / "logs"


class WorkerPool:
    def __init__(self, *, db: StateDB, store: S3Store, state_dir: Path, workers: int,
                 retries: int, make_runner: Callable[[str], Runner]) -> None:
        self.db = db
        self.store = store
        self.state_dir = state_dir
        self.retries = retries
        self._queue: queue.Queue[int] = queue.Queue()
        self._runners = [make_runner(f"w{i}") for i in range(workers)]
        self._threads = [
            threading.Thread(target=self._loop, args=(r, f"w{i}"), name=f"worker-{i}", daemon=True)
            for i, r in enumerate(self._runners)
        ]
        self._stopping = threading.Event()

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def submit(self, file_ids: list[int]) -> None:
        for fid in file_ids:
            self._queue.put(fid)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking files, end in-flight transforms, release runners (containers)."""
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(_STOP)
        _terminate_own_transforms(self.state_dir)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        for r in self._runners:
            try:
                r.close()
            except Exception:  # noqa: BLE001 - shutdown must go on
                log.exception("could not release runner")

    # -- worker side ------------------------------------------------------------------------
    def _loop(self, runner: Runner, worker: str) -> None:
        while True:
            fid = self._queue.get()
            if fid == _STOP or self._stopping.is_set():
                return
            try:
                self._process(runner, worker, fid)
            except Exception:  # noqa: BLE001 - one file's bug must not kill the worker
                log.exception("worker %s: unexpected error on file %s", worker, fid)
                f = self.db.file(fid)
                if f is not None and f["status"] == st.IN_FLIGHT:
                    self.db.file_failed(fid, "internal harness error (see the harness log)", 0.0)
                    self.db.finish_if_done(f["request_id"])

    def _process(self, runner: Runner, worker: str, fid: int) -> None:
        f = self.db.file(fid)
        if f is None:
            return
        req = self.db.request(f["request_id"])
        if req is None:
            return
        paths = RequestPaths(self.state_dir, req["id"])
        paths.logs.mkdir(parents=True, exist_ok=True)
        attempt_no = f["attempts"] + 1
        log_path = paths.logs / f"{f['idx']:05d}.attempt{attempt_no}.log"
        n = self.db.start_attempt(fid, worker, str(log_path))
        if n is None:  # canceled, deleted, or already handled
            return
        scratch = paths.scratch / f"{f['idx']:05d}-{n}"
        scratch.mkdir(parents=True, exist_ok=True)
        output = scratch / f["object_name"]
        job = Job(
            request_id=req["id"], bundle_dir=Path(req["bundle_dir"]), input=f["path"],
            output=output, fmt=req["result_format"], scratch_dir=paths.scratch,
            local_inputs=self._local_inputs(req["id"]), image=req["image"],
        )
        total = self.db.counts(req["id"])["files"]
        started = time.monotonic()
        with open(log_path, "w", encoding="utf-8") as logf:
            logf.write(f"[{st.utcnow()}] request {req['id']} file {f['idx'] + 1}/{total} "
                       f"attempt {n} on {worker}: {f['path']}\n")
            logf.flush()

            def on_line(line: str) -> None:
                logf.write(f"[{time.monotonic() - started:8.2f}s] {line}\n")
                logf.flush()

            outcome = runner.run(job, on_line)
            error = outcome.error
            size = None
            current = self.db.request(req["id"])
            if current is None or current["status"] != st.RUNNING:
                logf.write(f"[{st.utcnow()}] request is no longer running; output discarded\n")
                shutil.rmtree(scratch, ignore_errors=True)
                if current is not None:
                    self.db.end_attempt(fid, n, returncode=outcome.returncode,
                                        error="request canceled", seconds=outcome.seconds)
                    self.db.file_retry(fid, "request canceled")
                return
            if outcome.ok and not output.is_file():
                error = f"the transform reported success but wrote no output file {output.name}"
            elif outcome.ok:
                try:
                    size = self.store.upload(req["id"], f["object_name"], output)
                except StorageError as exc:
                    error = str(exc)
            seconds = time.monotonic() - started
            logf.write(f"[{st.utcnow()}] attempt {n} {'succeeded' if error is None else 'failed'}"
                       f" after {seconds:.2f}s (exit code {outcome.returncode}, events "
                       f"{outcome.events}, bytes {size})" + (f": {error}" if error else "") + "\n")
        shutil.rmtree(scratch, ignore_errors=True)
        interrupted = error is not None and self._stopping.is_set()
        self.db.end_attempt(fid, n, returncode=outcome.returncode,
                            error=st.INTERRUPTED if interrupted else error, seconds=seconds)
        if error is None:
            assert size is not None
            self.db.file_succeeded(fid, total_bytes=size, total_events=outcome.events,
                                   seconds=seconds)
            log.info("request %s: file %d/%d done in %.2fs (attempt %d, %d bytes)", req["id"],
                     f["idx"] + 1, total, seconds, n, size)
        elif interrupted:
            self.db.file_retry(fid, error)  # resumed after a restart, not counted as a failure
        elif self.db.failed_attempts(fid) <= self.retries:
            self.db.file_retry(fid, error)
            log.warning("request %s: file %d/%d attempt %d failed (%s); retrying", req["id"],
                        f["idx"] + 1, total, n, error)
            self._queue.put(fid)
        else:
            self.db.file_failed(fid, error, seconds)
            log.error("request %s: file %d/%d failed after %d attempts: %s", req["id"],
                      f["idx"] + 1, total, n, error)
        if self.db.finish_if_done(req["id"]):
            c = self.db.counts(req["id"])
            log.info("request %s complete: %d ok, %d failed", req["id"], c["completed"],
                     c["failed"])

    def _local_inputs(self, request_id: str) -> list[Path]:
        out = []
        for f in self.db.files(request_id):
            p = local_path(f["path"])
            if p is not None:
                out.append(p)
        return out


def _terminate_own_transforms(state_dir: Path) -> None:
    """SIGTERM the transform scripts this pool started (each leads its own process group).

    ``run_transform`` gives its subprocess a session of its own so nothing of it outlives the
    call; at shutdown the worker threads are blocked inside that call, so we find our direct
    children running a ``transform_single_file.py`` from a bundle under ``state_dir`` and
    signal their groups, by PID.
    """
    marker = str(state_dir).encode()
    me = os.getpid()
    for task in Path(f"/proc/{me}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"transform_single_file.py" in cmdline and marker in cmdline:
                try:
                    os.killpg(int(pid), signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
