"""The harness: API + code generator + worker pool + S3 + state, started and stopped as one.

``Harness(config).start()`` brings everything up (and resumes unfinished requests from the
state folder); ``stop()`` takes it down again, stopping only what it started. ``serve()`` is
the blocking entry point behind ``topcp-sx serve`` and ``python -m topcp_harness``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from . import __version__, pages
from . import codegen as cg
from . import state as st
from .api import ApiError, create_api
from .config import HarnessConfig, S3Settings, is_loopback
from .naming import object_name
from .retention import Retention
from .runners import DockerRunner, ProcessRunner, Runner
from .seaweed import SeaweedServer
from .security import InputPolicy, InputRefused, TokenAuthority
from .state import StateDB
from .storage import S3Store, StorageError
from .workers import RequestPaths, WorkerPool, local_path, reclaim_orphans

log = logging.getLogger(__name__)

CODEGEN_NAME = "topcp"
RESULT_FORMATS = ("root-file", "parquet", "root-rntuple")
FALLBACK_IMAGE = "sslhep/servicex_science_image_topcp:25.2.74-v2.23.0"
#: A request whose status a client read this recently is deleted last to make room.
IN_USE_S = 60.0


def cache_key(selection: str, codegen: str, result_format: str, files: list[str]) -> str:
    """What makes two requests the same: query, code generator, format and the input files.

    Local files enter with their size and modification time, so a rewritten input is not
    mistaken for the old one; the title does not matter (as in the client's own cache).
    """
    ident = []
    for name in sorted(files):
        p = local_path(name)
        if p is not None:
            s = p.stat()
            ident.append([name, s.st_size, s.st_mtime_ns])
        else:
            ident.append([name])
    blob = json.dumps([selection, codegen, result_format, ident], sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _bundle_formats(zip_bytes: bytes) -> list[str] | None:
    """``file-formats`` from the bundle's transformer_capabilities.json, if it says."""
    try:
        with zipfile.ZipFile(BytesIO(zip_bytes)) as zf:
            caps = json.loads(zf.read("transformer_capabilities.json"))
    except (KeyError, ValueError, zipfile.BadZipFile):
        return None
    formats = caps.get("file-formats") if isinstance(caps, dict) else None
    return [str(f) for f in formats] if isinstance(formats, list) else None


def _local_size(name: str) -> int:
    """Size of a local input for the dataset listing (0 for URLs or vanished files)."""
    p = local_path(name)
    try:
        return p.stat().st_size if p is not None else 0
    except OSError:
        return 0


class _InFlight:
    """Counts API calls being answered, so ``stop`` can let them finish before closing."""

    def __init__(self) -> None:
        self._n = 0
        self._cond = threading.Condition()

    def enter(self) -> None:
        with self._cond:
            self._n += 1

    def leave(self) -> None:
        with self._cond:
            self._n -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._n <= 0, timeout)


class Harness:
    def __init__(self, config: HarnessConfig) -> None:
        self.config = config
        self.db: StateDB | None = None
        self.store: S3Store | None = None
        self.s3: S3Settings | None = None
        self.codegen_url: str | None = None
        self.default_image = config.image or FALLBACK_IMAGE
        self.pool: WorkerPool | None = None
        self._seaweed: SeaweedServer | None = None
        self._codegen: cg.EmbeddedCodegen | None = None
        self._http: BaseWSGIServer | None = None
        self._http_thread: threading.Thread | None = None
        self._submit_lock = threading.Lock()
        # One lock per request: a status read while its key is being made waits for it.
        self._reader_locks: dict[str, threading.Lock] = {}
        self._lock_fd: int | None = None
        # What each request's last status reply showed (see status_for_client).
        self._served: dict[str, tuple[str, int, int]] = {}
        self._last_asked: dict[str, float] = {}
        self._served_lock = threading.Lock()
        self.auth = TokenAuthority(config.token)
        self.inputs = InputPolicy(config.data_dirs or (), config.allow_remote)
        self.retention: Retention | None = None
        self.requests_in_flight = _InFlight()
        self._stopping = threading.Event()

    # -- life cycle --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._http is not None, "harness not started"
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """The address clients use (a wildcard bind is reached through 127.0.0.1)."""
        host = self.config.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self) -> Harness:
        cfg = self.config
        self._stopping.clear()
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        # werkzeug logs every request at INFO: the client polls every 5 s
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self._lock_state_dir()
            # Bind first, so that a busy port fails before anything is started. The socket is
            # ours (werkzeug would print and sys.exit on a busy port).
            try:
                sock = socket.create_server((cfg.host, cfg.port), backlog=128)
            except OSError as exc:
                raise OSError(f"cannot listen on {cfg.host}:{cfg.port} ({exc.strerror}); is "
                              "another harness running? choose another port with --port") from exc
            with sock:  # werkzeug works on a duplicate of the descriptor
                self._http = make_server(cfg.host, cfg.port, create_api(self), threaded=True,
                                         fd=sock.fileno())
            self.db = StateDB(cfg.state_dir / "state.sqlite")
            # A harness of this folder killed with SIGKILL may have left transforms running.
            reclaim_orphans(cfg.state_dir)
            # SeaweedFS takes seconds to come up (most of a start): the code generator is
            # started meanwhile.
            with ThreadPoolExecutor(1, thread_name_prefix="start") as background:
                s3_ready = background.submit(self._start_store)
                if cfg.codegen_url:
                    self.codegen_url = cfg.codegen_url.rstrip("/")
                else:
                    self._codegen = cg.EmbeddedCodegen()
                    self.codegen_url = self._codegen.start()
                self.default_image = (cfg.image or cg.default_image(self.codegen_url)
                                      or FALLBACK_IMAGE)
                self.s3, self.store = s3_ready.result()
            seaweed = self._seaweed
            self.retention = Retention(
                db=self.db, remove=self._remove_many,
                free_volumes=seaweed.free_volumes if seaweed is not None else (lambda: None),
                expire_days=cfg.expire_days,
                max_volumes=cfg.s3_volumes if seaweed is not None else None,
                in_use=self._in_use)
            self.pool = WorkerPool(db=self.db, store=self.store, state_dir=cfg.state_dir,
                                   workers=cfg.worker_count, retries=cfg.retries,
                                   make_runner=self._make_runner,
                                   make_room=self.retention.make_room)
            self._resume()
            self.retention.start()
            self.pool.start()
            self._http_thread = threading.Thread(target=self._http.serve_forever,
                                                 kwargs={"poll_interval": 0.1}, name="api",
                                                 daemon=True)
            self._http_thread.start()
        except BaseException:
            self.stop()
            raise
        log.info("topcp harness at %s (%d %s workers, S3 %s, code generator %s)", self.url,
                 cfg.worker_count, cfg.runner, self.s3.url, self.codegen_url)
        return self

    def _start_store(self) -> tuple[S3Settings, S3Store]:
        cfg = self.config
        assert self.db is not None
        if cfg.s3 is None:
            self._seaweed = SeaweedServer(cfg.state_dir / "s3", max_volumes=cfg.s3_volumes)
            s3 = self._seaweed.start(readers=self.db.reader_keys())
        else:
            s3 = cfg.s3
            log.warning("external S3 endpoint %s: clients get its keys as given (only the "
                        "harness's own SeaweedFS makes read-only keys per request)", s3.url)
        store = S3Store(s3)
        store.ping()
        return s3, store

    def _lock_state_dir(self) -> None:
        """Refuse to share a state folder: two harnesses would both resume its requests."""
        path = self.config.state_dir / "harness.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RuntimeError(f"state folder {self.config.state_dir} is in use by another "
                               f"harness (pid {holder}); stop it or give --state-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def stop(self) -> None:
        self._stopping.set()  # ends status holds at once
        if self._http is not None:
            if self._http_thread is not None:
                self._http.shutdown()
                self._http_thread = None
            self._http.server_close()
            self._http = None
        # Let calls being answered (threads of their own) finish before their state goes.
        self.requests_in_flight.wait_idle(timeout=10)
        if self.retention is not None:
            self.retention.stop()
        if self.pool is not None:
            self.pool.stop()
            self.pool = None
        if self._codegen is not None:
            self._codegen.stop()
            self._codegen = None
        if self._seaweed is not None:
            self._seaweed.stop()
            self._seaweed = None
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> Harness:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _make_runner(self, name: str) -> Runner:
        if self.config.runner == "docker":
            return DockerRunner(name, image=self.config.image, x509_proxy=self.config.x509_proxy,
                                timeout=self.config.file_timeout)
        return ProcessRunner(timeout=self.config.file_timeout)

    def _resume(self) -> None:
        """Requeue what a previous run left unfinished; finished files are not redone.

        Scratch folders are emptied first: whatever is in them belongs to attempts of an
        earlier run (their transforms are gone, see ``reclaim_orphans``).
        """
        assert self.db is not None and self.pool is not None and self.store is not None
        for scratch in (self.config.state_dir / "requests").glob("*/scratch"):
            shutil.rmtree(scratch, ignore_errors=True)
        moved = self.db.requeue_in_flight()
        for req in self.db.unfinished_requests():
            self.store.ensure_bucket(req["id"])
            pending = [f["id"] for f in self.db.pending_files(req["id"])]
            log.info("resuming request %s: %d file(s) to do (%d were in flight)", req["id"],
                     len(pending), moved)
            self.pool.submit(pending)
            self.db.finish_if_done(req["id"])

    # -- API operations ----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {
            "app-version": f"topcp-harness {__version__}",
            "code-gen-image": {CODEGEN_NAME: self.default_image},
            "capabilities": ["poll_local_transformation_results"],
        }

    def _validate(self, body: dict[str, Any]) -> tuple[str, str, list[str], str]:
        selection = body.get("selection")
        if not isinstance(selection, str) or not selection.strip():
            raise ApiError(400, "'selection' (the query) is missing or empty")
        codegen = body.get("codegen")
        if codegen != CODEGEN_NAME:
            # ServiceX's app answers a code generator it does not have with 500 "Invalid
            # Codegen Image Passed in Request: <name>" (ssl-hep/ServiceX servicex_app
            # resources/transformation/submit.py, f42d1a5 2024-10), which servicex 3.3.1
            # raises as RuntimeError; the client checks /servicex first, so only direct API
            # callers get here.
            raise ApiError(500, f"Invalid Codegen Image Passed in Request: {codegen} (this "
                                f"harness serves '{CODEGEN_NAME}' (query.TopCP) only)")
        fmt = body.get("result-format", "root-file")
        if fmt not in RESULT_FORMATS:
            raise ApiError(400, f"result-format {fmt!r} is unknown; use one of "
                                f"{', '.join(RESULT_FORMATS)}")
        dest = body.get("result-destination", "object-store")
        if dest != "object-store":
            raise ApiError(400, f"result-destination {dest!r} is not supported; this harness "
                                "delivers through object-store only")
        files = body.get("file-list")
        did = body.get("did")
        if not files:
            if did:
                raise ApiError(400, f"dataset {did!r} needs a real ServiceX: this local harness "
                                    "has no dataset lookup (Rucio, XRootD patterns, CERN Open "
                                    "Data). Give the files themselves with "
                                    "dataset.FileList([...]), or point servicex.yaml at a "
                                    "ServiceX deployment.")
            raise ApiError(400, "no input files: give 'file-list' (dataset.FileList([...]))")
        if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
            raise ApiError(400, "'file-list' must be a list of file paths or URLs")
        problems = []
        for name in files:
            try:
                self.inputs.check(name)
            except InputRefused as exc:
                problems.append(str(exc))
        if problems:
            raise ApiError(400, "input files not usable:\n  " + "\n  ".join(problems))
        if len(set(files)) != len(files):
            raise ApiError(400, "'file-list' names the same file twice")
        title = body.get("title")
        return selection, fmt, files, title if isinstance(title, str) else None

    def submit(self, body: dict[str, Any]) -> str:
        """Accept a TransformRequest; returns the request id (a new one, or a reusable one).

        Only the cache check and the record are made under the submission lock; the code
        generator, the bucket and the request's read-only key are made outside it, so that
        submissions do not queue behind each other's S3 calls.
        """
        assert self.db is not None and self.store is not None and self.pool is not None
        selection, fmt, files, title = self._validate(body)
        key = cache_key(selection, CODEGEN_NAME, fmt, files)
        with self._submit_lock:
            reused = self._reusable(key)
        if reused is not None:
            return self._reuse(reused, len(files))
        assert self.codegen_url is not None
        # ServiceX's app answers every code generator failure with 500 "Something went
        # wrong (Failed to generate translation code: <Message>)" (submit.py, 2024-10 and
        # 2026), which servicex 3.3.1 raises as RuntimeError: the same here.
        try:
            bundle = cg.generate(self.codegen_url, selection)
        except cg.CodegenRejected as exc:
            raise ApiError(500, f"Something went wrong (Failed to generate translation "
                                f"code: {exc.message})") from None
        except cg.CodegenUnavailable as exc:
            raise ApiError(500, f"Something went wrong ({exc})") from None
        formats = _bundle_formats(bundle.zip_bytes)
        if formats is not None and fmt not in formats:
            raise ApiError(400, f"the {CODEGEN_NAME} transformer writes {', '.join(formats)}"
                                f", not {fmt}; keep the default OutputFormat (root-ttree)")
        if self.retention is not None:
            self.retention.check()  # before the new bucket takes a volume
        from topcp_codegen.bundle import unpack_bundle

        with self._submit_lock:  # one record per query: the cache check stays exact
            reused = self._reusable(key)
            if reused is not None:
                return self._reuse(reused, len(files))
            request_id = str(uuid.uuid4())
            paths = RequestPaths(self.config.state_dir, request_id)
            try:
                unpack_bundle(bundle.zip_bytes, paths.bundle)
            except ValueError as exc:
                raise ApiError(503, f"code generator sent an unusable bundle: {exc}") from None
            self.db.create_request(
                {
                    "id": request_id, "title": title, "did": f"file-list ({len(files)} files)",
                    "did_id": self.db.dataset_for(files), "selection": selection,
                    "codegen": CODEGEN_NAME, "result_format": fmt,
                    "image": self.config.image or bundle.image or self.default_image,
                    "bundle_dir": str(paths.bundle), "cache_key": key,
                },
                [(f, object_name(f, fmt)) for f in files],
            )
        try:
            self.store.ensure_bucket(request_id)
            status = self.status(request_id)  # makes the read-only key (see _reader_key)
        except (StorageError, ApiError) as exc:
            self.db.delete_request(request_id)
            shutil.rmtree(paths.root, ignore_errors=True)
            with contextlib.suppress(StorageError):
                self._drop_bucket(request_id)
            raise ApiError(503, exc.message if isinstance(exc, ApiError) else str(exc)) from None
        self._remember_served(status)
        self.pool.submit([f["id"] for f in self.db.files(request_id)])
        log.info("request %s: %d file(s) queued", request_id, len(files))
        return request_id

    def _reuse(self, request_id: str, n_files: int) -> str:
        log.info("request for %d file(s) served from request %s (same query and files)",
                 n_files, request_id)
        return request_id

    def _reader_key(self, req: dict[str, Any]) -> tuple[str, str]:
        """The S3 key the status hands out: the request's read-only one, made on first use.

        Made here rather than in ``submit`` so that a request recorded by an older harness, or
        one whose harness died between record and key, gets one too; the lock makes a
        concurrent status wait for the key instead of seeing none.
        """
        assert self.db is not None and self.s3 is not None
        if self._seaweed is None:
            return self.s3.access_key, self.s3.secret_key
        if req["s3_access_key"]:
            return req["s3_access_key"], req["s3_secret_key"]
        with self._reader_locks.setdefault(req["id"], threading.Lock()):
            fresh = self.db.request(req["id"])
            if fresh is not None and fresh["s3_access_key"]:
                return fresh["s3_access_key"], fresh["s3_secret_key"]
            try:
                access, secret = self._seaweed.grant_reader(req["id"])
            except StorageError as exc:
                raise ApiError(503, f"cannot make the read-only S3 key of request "
                                    f"{req['id']}: {exc}") from None
            self.db.set_reader_key(req["id"], access, secret)
            return access, secret

    def _reusable(self, key: str) -> str | None:
        """A running or fully successful request with this key whose outputs are still there."""
        assert self.db is not None and self.store is not None
        req = self.db.find_reusable(key)
        if req is None:
            return None
        if req["status"] == st.RUNNING:
            return req["id"]
        stored = self.store.sizes(req["id"])
        for f in self.db.files(req["id"]):
            if stored.get(f["object_name"]) != f["total_bytes"]:
                log.info("request %s cannot be reused: %s is gone from S3", req["id"],
                         f["object_name"])
                return None
        return req["id"]

    def _request(self, request_id: str) -> dict[str, Any]:
        assert self.db is not None
        req = self.db.request(request_id)
        if req is None:
            raise ApiError(404, f"transformation request {request_id} not found")
        return req

    def status(self, request_id: str, *, with_keys: bool = True) -> dict[str, Any]:
        """A request's status as ServiceX's ``GET /servicex/transformation/<id>`` gives it.

        ``with_keys=False`` leaves out the S3 key, as for the listing: ServiceX's
        ``get_all.py`` returns ``TransformRequest.to_json()`` without any ``minio-*`` field
        (ssl-hep/ServiceX f42d1a5); only the status of one request carries a key.
        """
        req = self._request(request_id)
        assert self.db is not None and self.s3 is not None
        c = self.db.counts(request_id)
        status = {
            "request_id": req["id"], "title": req["title"], "did": req["did"],
            "did_id": req["did_id"], "selection": req["selection"], "tree-name": None,
            "image": req["image"], "result-destination": "object-store",
            "result-format": req["result_format"],
            "generated-code-cm": f"{req['id']}-generated-source", "status": req["status"],
            "app-version": f"topcp-harness {__version__}", "files": c["files"],
            "files-completed": c["completed"], "files-failed": c["failed"],
            "files-remaining": c["remaining"], "submit-time": req["submit_time"],
            "finish-time": req["finish_time"], "minio-endpoint": self.s3.endpoint,
            "minio-secured": self.s3.secure,
            "log-url": self.log_url(req["id"]),
            "codegen": req["codegen"],
        }
        if with_keys:
            # The request's own read-only key (its bucket only), where the store can make one.
            status["minio-access-key"], status["minio-secret-key"] = self._reader_key(req)
        return status

    def log_url(self, request_id: str) -> str:
        """Where the request's transform logs are, in the form the client rewrites.

        servicex 3.3.1 turns ``log-url`` into a Kibana link by replacing ``&_g=()`` with its
        time and filter parameters (``app/transforms.py`` ``create_kibana_link_parameters``),
        for ``servicex transforms logs`` and the "More information" line after a failure; the
        harness serves that URL itself (``/transformation-request/<id>/logs``).
        """
        return f"{self.url}/transformation-request/{request_id}/logs?request={request_id}&_g=()"

    @staticmethod
    def _observed(status: dict[str, Any]) -> tuple[str, int, int]:
        return (status["status"], status["files-completed"], status["files-failed"])

    def _remember_served(self, status: dict[str, Any]) -> None:
        with self._served_lock:
            self._served[status["request_id"]] = self._observed(status)
            self._last_asked[status["request_id"]] = time.monotonic()

    def _in_use(self, request_id: str) -> bool:
        """Whether a client asked about the request lately (it may still be downloading)."""
        with self._served_lock:
            asked = self._last_asked.get(request_id)
        return asked is not None and time.monotonic() - asked < IN_USE_S

    def status_for_client(self, request_id: str) -> dict[str, Any]:
        """The status, held back up to ``config.status_hold`` seconds while nothing the client
        can see (status, files completed, files failed) has changed since the last reply.

        Why: servicex 3.3.1 polls the status and, on a separate 5 s loop, looks for new files
        to download; the download loop reads the status the other loop fetched, so a reply that
        merely repeats the previous one costs the user a whole polling period. Holding such a
        reply until the next file finishes (the first poll right after submission, or the one
        that spans the last file) lets the client download results about one period earlier.
        The reply is never different from an immediate one, only later; terminal statuses and
        changed counts are answered at once, and ``status_hold = 0`` turns this off. The hold
        is capped at ``config.MAX_STATUS_HOLD_S`` (3 s), well under the 5 s read timeout the
        client uses for this call, so a held reply never times out however long files take.
        """
        status = self.status(request_id)
        hold = self.config.status_hold
        with self._served_lock:
            last = self._served.get(request_id)
        if hold > 0 and status["status"] not in st.TERMINAL and last == self._observed(status):
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline and not self._stopping.is_set():
                time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
                status = self.status(request_id)
                if self._observed(status) != last or status["status"] in st.TERMINAL:
                    break
        self._remember_served(status)
        return status

    def results(self, request_id: str, later_than: str | None,
                status: str | None) -> list[dict[str, Any]]:
        self._request(request_id)
        assert self.db is not None
        with self._served_lock:  # the client's download loop: the request is in use
            self._last_asked[request_id] = time.monotonic()
        if later_than:
            try:
                later_than = st.parse_time(later_than)
            except ValueError:
                raise ApiError(400, f"later_than {later_than!r} is not an ISO time") from None
        if status not in (None, st.SUCCESS, st.FAILURE):
            raise ApiError(400, f"status must be {st.SUCCESS} or {st.FAILURE}, got {status!r}")
        return [
            {
                "file-path": f["path"], "s3-object-name": f["object_name"],
                "total-bytes": f["total_bytes"] or 0, "total-events": f["total_events"] or 0,
                "transform_status": f["status"], "created_at": f["created_at"],
                "info": f["error"], "attempts": f["attempts"], "seconds": f["seconds"],
            }
            for f in self.db.results(request_id, later_than, status)
        ]

    def files_for_page(self, request_id: str,
                       status: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        req = self._request(request_id)
        assert self.db is not None
        files = self.db.files(request_id)
        if status:
            files = [f for f in files if f["status"] == status]
        return req, files

    def logs_text(self, request_id: str, only_failed: bool) -> str:
        req = self._request(request_id)
        assert self.db is not None
        files = self.db.files(request_id)
        attempts = {f["id"]: self.db.attempts(f["id"]) for f in files}
        return pages.logs_text(req, files, attempts, only_failed)

    def cancel(self, request_id: str) -> None:
        req = self._request(request_id)
        assert self.db is not None
        if req["status"] in st.TERMINAL:
            raise ApiError(400, f"transformation {request_id} is already {req['status']}")
        self.db.set_status(request_id, st.CANCELED, "canceled by the user")

    def delete(self, request_id: str) -> None:
        """``DELETE /servicex/transformation/<id>``: as ServiceX, only a finished request.

        ssl-hep/ServiceX ``resources/transformation/delete.py`` (2025): 400 "Transform request
        with id <id> is still in progress." unless the status is complete; then results,
        bucket and request are deleted.
        """
        req = self._request(request_id)
        if req["status"] not in st.TERMINAL:
            raise ApiError(400, f"Transform request with id {request_id} is still in progress."
                                " Cancel it first (servicex transforms cancel)")
        try:
            self._remove(request_id)
        except StorageError as exc:
            raise ApiError(503, str(exc)) from None

    def _drop_bucket(self, request_id: str) -> None:
        assert self.store is not None
        if self._seaweed is not None:
            self._seaweed.revoke_readers([request_id])
        self.store.delete_bucket(request_id)

    def _remove(self, request_id: str) -> None:
        """Delete a request entirely: its key, bucket (and so its volume), records, folder."""
        self._remove_many([request_id])

    def _remove_many(self, request_ids: list[str]) -> None:
        """``_remove`` for several requests: one key revocation, buckets deleted in parallel."""
        assert self.db is not None and self.store is not None
        if self._seaweed is not None:
            self._seaweed.revoke_readers(request_ids)  # keys first: no access during deletion
        store = self.store
        with ThreadPoolExecutor(min(4, len(request_ids)) or 1,
                                thread_name_prefix="delete") as pool:
            list(pool.map(store.delete_bucket, request_ids))
        for rid in request_ids:
            self.db.delete_request(rid)
            with self._served_lock:
                self._served.pop(rid, None)
                self._last_asked.pop(rid, None)
            self._reader_locks.pop(rid, None)
            shutil.rmtree(RequestPaths(self.config.state_dir, rid).root, ignore_errors=True)

    def _dataset_json(self, row: dict[str, Any], with_files: bool) -> dict[str, Any]:
        files = json.loads(row["files"])
        sizes = [_local_size(p) for p in files]
        out: dict[str, Any] = {
            "id": row["id"], "name": row["name"], "did_finder": "user", "n_files": len(files),
            "size": sum(sizes), "events": 0, "last_used": row["last_used"],
            "last_updated": row["last_updated"], "lookup_status": "complete",
            "is_stale": bool(row["is_stale"]),
        }
        if with_files:
            out["files"] = [
                {"id": i, "adler32": None, "file_size": size, "file_events": 0, "paths": p}
                for i, (p, size) in enumerate(zip(files, sizes, strict=True))
            ]
        return out

    def datasets(self, show_deleted: bool) -> list[dict[str, Any]]:
        assert self.db is not None
        return [self._dataset_json(r, False) for r in self.db.datasets(show_deleted)]

    def dataset(self, dataset_id: int) -> dict[str, Any]:
        assert self.db is not None
        row = self.db.dataset(dataset_id)
        if row is None:
            raise ApiError(404, f"dataset {dataset_id} not found")
        return self._dataset_json(row, True)

    def delete_dataset(self, dataset_id: int) -> bool:
        assert self.db is not None
        if not self.db.mark_dataset_stale(dataset_id):
            raise ApiError(404, f"dataset {dataset_id} not found")
        return True

    def servicex_yaml(self) -> str:
        """The servicex.yaml that points the servicex client at this harness."""
        cache = self.config.state_dir / "client-cache"
        token = f"    token: {self.config.token}\n" if self.config.token else ""
        return (
            "api_endpoints:\n"
            f"  - endpoint: {self.url}\n"
            f"    name: {self.config.name}\n"
            + token
            + f"cache_path: {cache}\n"
        )

    def banner(self) -> str:
        """What ``serve`` prints once the harness is ready."""
        cfg = self.config
        s3 = self.s3.url if self.s3 is not None else "?"
        keys = ("one read-only key per request" if self._seaweed is not None
                else "the store's own keys")
        lines = [f"topcp harness ready at {self.url}"]
        if not is_loopback(cfg.host):
            lines.append(f"  bound to:     {cfg.host} (reachable from other machines)")
        lines += [
            f"  workers:      {cfg.worker_count} ({cfg.runner} runner)",
            f"  state folder: {cfg.state_dir}",
            f"  data folders: {self.inputs.describe()}"
            + ("; remote URLs allowed" if cfg.allow_remote else "; remote URLs off"),
            f"  S3:           {s3} ({keys})",
            "  auth:         " + ("token required (in the servicex.yaml below)" if cfg.token
                                  else "none (loopback only)" if is_loopback(cfg.host)
                                  else "none (--insecure-bind)"),
            f"  code gen:     {self.codegen_url}",
            "",
            "Put this in servicex.yaml (in your working directory) to use it:",
            "",
            self.servicex_yaml(),
        ]
        return "\n".join(lines)


def serve(*, host: str = "127.0.0.1", port: int = 5001, workers: int | None = None,
          runner: str = "process", state_dir: str | Path | None = None, image: str | None = None,
          s3: S3Settings | dict | None = None, **extra: Any) -> None:
    """Run the harness until SIGINT/SIGTERM (the ``topcp-sx serve`` entry point).

    ``extra`` passes further ``HarnessConfig`` fields (``codegen_url``, ``retries``,
    ``x509_proxy``, ``file_timeout``, ``s3_volumes``, ``name``, ``status_hold``, ``token``,
    ``insecure_bind``, ``data_dirs``, ``allow_remote``, ``expire_days``). Configuration and
    start-up problems raise ``ValueError``/``OSError``/``RuntimeError`` with a one-line
    message (a busy port, a state folder in use, a refused bind).
    """
    kwargs: dict[str, Any] = dict(host=host, port=port, workers=workers, runner=runner,
                                  image=image, s3=s3, **extra)
    if state_dir is not None:
        kwargs["state_dir"] = Path(state_dir)
    harness = Harness(HarnessConfig(**kwargs))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        harness.start()
        sys.stdout.write(harness.banner() + "\n")
        sys.stdout.flush()
        while not stop.wait(1.0):
            pass
    finally:
        harness.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
