"""The worker pool: one task per input file, N workers, uploads, progress logs, retries.

A task is a file id. A worker claims it in the state database (so a canceled or deleted
request is skipped), runs one attempt with its runner, and either uploads the output to the
request's bucket and records ``total-bytes`` as the stored object's size, or decides:

* the transform failed (a non-zero exit with its ERROR line, no output, a timeout): the file
  is **failed at once**. ServiceX tries each replica of a file once (the sidecar's
  ``transform_file`` loops over replicas and records a failure; only Celery's ``acks_late``
  re-delivers a file whose pod died: ssl-hep/ServiceX ``transformer_sidecar/transformer.py``,
  2024-10), and a file list has one replica per file;
* the worker or container was **lost** (the transform script killed by a signal, the
  container killed or gone) or the **object store** failed: the file goes back to the end of
  the queue until it has had ``1 + retries`` attempts (after an upload failure the store is
  first asked to make room);
* the harness is stopping: the attempt is recorded as interrupted and the file is resumed
  after the restart without counting against it.

Every attempt writes its own log (header, the script's lines with elapsed time, footer)
under the request's folder, and is closed in the database whatever happens.
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
from .runners import CONTAINER_LOST_CODES, Job, Runner
from .state import StateDB
from .storage import S3Store, StorageError

log = logging.getLogger(__name__)

_STOP = -1

#: The scratch name of every output. Short on purpose: the S3 object name (up to 255
#: characters, the input path with '/' -> ':') is only the key in the bucket; as a file name it
#: plus the transform's temporary suffix would pass NAME_MAX for inputs over 240 characters.
OUTPUT_NAME = "output"

#: Exit codes of the transform that mean "the worker was lost", not "the file is bad": the
#: container's (docker's 125/126/127/137, runners.CONTAINER_LOST_CODES) and the script's own
#: 128+signal when something other than the harness stopped it (SIGHUP, SIGINT, SIGTERM).
#: A negative code (the process runner's script killed by a signal) counts as well.
LOST_WORKER_CODES = CONTAINER_LOST_CODES | {128 + signal.SIGHUP, 128 + signal.SIGINT,
                                            128 + signal.SIGTERM}


def worker_lost(returncode: int) -> bool:
    """Whether a failed attempt's exit code says its process or container went away."""
    return returncode < 0 or returncode in LOST_WORKER_CODES


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
                 retries: int, make_runner: Callable[[str], Runner],
                 make_room: Callable[[], None] | None = None) -> None:
        self.db = db
        self.store = store
        self.state_dir = state_dir
        self.retries = retries
        self.make_room = make_room
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
            except Exception as exc:  # noqa: BLE001 - one file's bug must not kill the worker
                log.exception("worker %s: unexpected error on file %s", worker, fid)
                f = self.db.file(fid)
                if f is not None:
                    self.db.abandon_attempt(fid, f"internal harness error ({type(exc).__name__}:"
                                                 f" {exc}); see the harness log")
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
        total = self.db.counts(req["id"])["files"]
        scratch = paths.scratch / f"{f['idx']:05d}-{n}"
        started = time.monotonic()
        returncode: int | None = None
        events: int | None = None
        size: int | None = None
        error: str | None = None
        transient = False  # the store failed, not the transform
        try:
            with open(log_path, "w", encoding="utf-8") as logf:
                logf.write(f"[{st.utcnow()}] request {req['id']} file {f['idx'] + 1}/{total} "
                           f"attempt {n} on {worker}: {f['path']}\n")
                logf.flush()
                scratch.mkdir(parents=True, exist_ok=True)
                output = scratch / OUTPUT_NAME
                job = Job(
                    request_id=req["id"], bundle_dir=Path(req["bundle_dir"]), input=f["path"],
                    output=output, fmt=req["result_format"], scratch_dir=paths.scratch,
                    local_inputs=self._local_inputs(req["id"]), image=req["image"],
                )

                def on_line(line: str) -> None:
                    logf.write(f"[{time.monotonic() - started:8.2f}s] {line}\n")
                    logf.flush()

                outcome = runner.run(job, on_line)
                returncode, events, error = outcome.returncode, outcome.events, outcome.error
                current = self.db.request(req["id"])
                if current is None or current["status"] != st.RUNNING:
                    logf.write(f"[{st.utcnow()}] request is no longer running; output "
                               "discarded\n")
                    if current is not None:
                        self.db.end_attempt(fid, n, returncode=returncode,
                                            error="request canceled", seconds=outcome.seconds)
                        self.db.file_retry(fid, "request canceled")
                    return
                if outcome.ok and not output.is_file():
                    error = "the transform reported success but wrote no output file"
                elif outcome.ok:
                    try:
                        size = self.store.upload(req["id"], f["object_name"], output)
                    except StorageError as exc:
                        error, transient = str(exc), True
                seconds = time.monotonic() - started
                logf.write(f"[{st.utcnow()}] attempt {n} "
                           f"{'succeeded' if error is None else 'failed'} after {seconds:.2f}s "
                           f"(exit code {returncode}, events {events}, bytes {size})"
                           + (f": {error}" if error else "") + "\n")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self._record(req["id"], f, n, total, returncode=returncode, events=events, size=size,
                     error=error, transient=transient, seconds=time.monotonic() - started)

    def _record(self, request_id: str, f: dict, n: int, total: int, *, returncode: int | None,
                events: int | None, size: int | None, error: str | None, transient: bool,
                seconds: float) -> None:
        """Close attempt ``n`` of file ``f`` and decide what happens to the file."""
        fid, which = f["id"], f"request {request_id}: file {f['idx'] + 1}/{total}"
        interrupted = error is not None and self._stopping.is_set()
        self.db.end_attempt(fid, n, returncode=returncode,
                            error=st.INTERRUPTED if interrupted else error, seconds=seconds)
        if error is None:
            assert size is not None
            self.db.file_succeeded(fid, total_bytes=size, total_events=events, seconds=seconds)
            log.info("%s done in %.2fs (attempt %d, %d bytes)", which, seconds, n, size)
        elif interrupted:
            self.db.file_retry(fid, error)  # resumed after a restart, not counted as a failure
        elif (transient or worker_lost(returncode or 0)) and \
                self.db.failed_attempts(fid) <= self.retries:
            if transient and self.make_room is not None:
                self.make_room()
            self.db.file_retry(fid, error)
            log.warning("%s attempt %d failed (%s; %s); retrying", which, n, error,
                        "object store" if transient else "worker lost")
            self._queue.put(fid)
        else:
            self.db.file_failed(fid, error, seconds)
            log.error("%s failed (attempt %d): %s", which, n, error)
        if self.db.finish_if_done(request_id):
            c = self.db.counts(request_id)
            log.info("request %s complete: %d ok, %d failed", request_id, c["completed"],
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


def _orphan_of(args: list[str], requests_dir: str) -> bool:
    """Whether a command line is one of our transforms: the bundle's script under
    ``requests_dir``, or runTop_el.py (real or emulated) with its config in a work dir there."""
    for i, arg in enumerate(args):
        if not arg.startswith(requests_dir):
            continue
        if arg.endswith("/generated/transform_single_file.py"):
            return True
        if i > 0 and args[i - 1] == "-t" and "/scratch/.topcp-work-" in arg:
            return True
    return False


def reclaim_orphans(state_dir: Path, grace: float = 5.0) -> list[int]:
    """Stop transforms a killed harness of this state folder left running; returns their PIDs.

    After ``kill -9`` of the harness its transform scripts (each in its own session) and their
    runTop_el.py children run on. They are recognised by their command line alone (see
    ``_orphan_of``: a path under ``<state>/requests/``), so nothing else of the user's is
    touched; they get SIGTERM (the script then stops its child and removes its work dir),
    then SIGKILL after ``grace`` seconds.
    """
    requests_dir = str(state_dir / "requests") + os.sep
    me = os.getpid()
    found = [int(entry.name) for entry in Path("/proc").iterdir()
             if entry.name.isdigit() and int(entry.name) != me
             and _is_orphan(int(entry.name), requests_dir)]
    targets = found
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in targets:
            # Only the survivors of SIGTERM get SIGKILL, each checked again just before: one
            # that exited meanwhile may have left its PID to an unrelated process.
            if not _is_orphan(pid, requests_dir):
                continue
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if not _zombie(p)]
            time.sleep(0.05)
        if not alive:
            break
        targets = alive
    if found:
        log.warning("stopped %d transform process(es) left running by an earlier harness: %s",
                    len(found), found)
    return found


def _is_orphan(pid: int, requests_dir: str) -> bool:
    """Whether process ``pid`` is (still) one of our transforms, by its command line."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _orphan_of([a.decode(errors="replace") for a in raw.split(b"\0") if a], requests_dir)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True
