"""The harness's memory: requests, files and attempts in SQLite.

Everything the API reports is read from here, and the worker pool writes every transition here
before acting on it, so a harness that is stopped (or crashes) and restarted with the same
state folder resumes unfinished requests: files already uploaded stay done, files that were in
flight go back to the queue.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# ServiceX status names (servicex.models.Status).
SUBMITTED = "Submitted"
RUNNING = "Running"
COMPLETE = "Complete"
CANCELED = "Canceled"
FATAL = "Fatal"
TERMINAL = (COMPLETE, CANCELED, FATAL)

# File states (the results endpoint's ``transform_status`` uses success/failure).
PENDING = "pending"
IN_FLIGHT = "running"
SUCCESS = "success"
FAILURE = "failure"

#: Error recorded for an attempt cut short by a harness shutdown or crash.
INTERRUPTED = "interrupted by a harness shutdown"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    title TEXT,
    did TEXT NOT NULL,
    did_id INTEGER NOT NULL,
    selection TEXT NOT NULL,
    codegen TEXT NOT NULL,
    result_format TEXT NOT NULL,
    image TEXT NOT NULL,
    bundle_dir TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    status TEXT NOT NULL,
    submit_time TEXT NOT NULL,
    finish_time TEXT,
    error TEXT,
    s3_access_key TEXT,
    s3_secret_key TEXT
);
CREATE INDEX IF NOT EXISTS requests_cache_key ON requests (cache_key);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    object_name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    total_bytes INTEGER,
    total_events INTEGER,
    error TEXT,
    created_at TEXT,
    seconds REAL
);
CREATE INDEX IF NOT EXISTS files_request ON files (request_id);
CREATE TABLE IF NOT EXISTS attempts (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    worker TEXT,
    started TEXT NOT NULL,
    finished TEXT,
    returncode INTEGER,
    error TEXT,
    seconds REAL,
    log_path TEXT,
    PRIMARY KEY (file_id, n)
);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    files TEXT NOT NULL,
    last_used TEXT NOT NULL,
    last_updated TEXT NOT NULL,
    is_stale INTEGER NOT NULL DEFAULT 0
);
"""


def utcnow() -> str:
    """Naive UTC ISO time, the form ServiceX uses and ``datetime.fromisoformat`` reads."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def parse_time(text: str) -> str:
    """Normalise an ISO time from a query string to our naive-UTC text (comparable as text)."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t.isoformat(timespec="microseconds")


class StateDB:
    """Thread-safe access to the state database (one connection, one lock, WAL journal)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # It holds the requests' S3 read keys: owner only (SQLite gives its -wal and -shm
        # files the database file's mode). The state folder itself may be shared with
        # containers (compose), so it is left as it is.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        if path.stat().st_uid == os.getuid():
            path.chmod(0o600)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a state folder written by an older harness up to this schema."""
        cols = {r["name"] for r in self._db.execute("PRAGMA table_info(requests)")}
        for col in ("s3_access_key", "s3_secret_key"):
            if col not in cols:
                self._db.execute(f"ALTER TABLE requests ADD COLUMN {col} TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args).fetchall()]

    def _one(self, sql: str, args: tuple = ()) -> dict[str, Any] | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    # -- datasets -------------------------------------------------------------------------
    def dataset_for(self, files: list[str]) -> int:
        """The id of the dataset made of exactly these files (created on first use)."""
        name = "file-list:" + json.dumps(sorted(files))
        now = utcnow()
        with self._tx() as db:
            row = db.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()
            if row:
                db.execute("UPDATE datasets SET last_used = ? WHERE id = ?", (now, row["id"]))
                return int(row["id"])
            cur = db.execute(
                "INSERT INTO datasets (name, files, last_used, last_updated) VALUES (?, ?, ?, ?)",
                (name, json.dumps(files), now, now),
            )
            return int(cur.lastrowid)

    def datasets(self, show_deleted: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM datasets" + ("" if show_deleted else " WHERE is_stale = 0")
        return self._all(sql + " ORDER BY id")

    def dataset(self, dataset_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM datasets WHERE id = ?", (dataset_id,))

    def mark_dataset_stale(self, dataset_id: int) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE datasets SET is_stale = 1 WHERE id = ?", (dataset_id,))
            return cur.rowcount > 0

    # -- requests ---------------------------------------------------------------------------
    def create_request(self, req: dict[str, Any], files: list[tuple[str, str]]) -> None:
        """Insert a request (status Running) and its files ``(path, object_name)``, pending."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO requests (id, title, did, did_id, selection, codegen, result_format,"
                " image, bundle_dir, cache_key, status, submit_time) VALUES"
                " (:id, :title, :did, :did_id, :selection, :codegen, :result_format, :image,"
                " :bundle_dir, :cache_key, :status, :submit_time)",
                {"status": RUNNING, "submit_time": utcnow(), **req},
            )
            db.executemany(
                "INSERT INTO files (request_id, idx, path, object_name, status)"
                " VALUES (?, ?, ?, ?, ?)",
                [(req["id"], i, p, o, PENDING) for i, (p, o) in enumerate(files)],
            )

    def request(self, request_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM requests WHERE id = ?", (request_id,))

    def requests(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM requests ORDER BY submit_time")

    def find_reusable(self, cache_key: str) -> dict[str, Any] | None:
        """The newest request for this cache key that succeeded fully or is still running."""
        return self._one(
            "SELECT r.* FROM requests r WHERE r.cache_key = ? AND (r.status = ? OR (r.status = ?"
            " AND NOT EXISTS (SELECT 1 FROM files f WHERE f.request_id = r.id AND f.status = ?)))"
            " ORDER BY r.submit_time DESC LIMIT 1",
            (cache_key, RUNNING, COMPLETE, FAILURE),
        )

    def set_status(self, request_id: str, status: str, error: str | None = None) -> None:
        finish = utcnow() if status in TERMINAL else None
        with self._tx() as db:
            db.execute(
                "UPDATE requests SET status = ?, finish_time = ?, error = COALESCE(?, error)"
                " WHERE id = ?",
                (status, finish, error, request_id),
            )

    def delete_request(self, request_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM requests WHERE id = ?", (request_id,)).rowcount > 0

    def set_reader_key(self, request_id: str, access_key: str, secret_key: str) -> None:
        """The read-only S3 key that the status hands to the client for this request."""
        with self._tx() as db:
            db.execute("UPDATE requests SET s3_access_key = ?, s3_secret_key = ? WHERE id = ?",
                       (access_key, secret_key, request_id))

    def reader_keys(self) -> dict[str, tuple[str, str]]:
        """Request id -> its read-only S3 key, for every request that has one."""
        rows = self._all("SELECT id, s3_access_key, s3_secret_key FROM requests"
                         " WHERE s3_access_key IS NOT NULL")
        return {r["id"]: (r["s3_access_key"], r["s3_secret_key"]) for r in rows}

    def finished_requests(self, before: str | None = None) -> list[dict[str, Any]]:
        """Terminal requests, the longest finished first; ``before``: finished before it."""
        sql = "SELECT * FROM requests WHERE status IN (?, ?, ?)"
        args: tuple = TERMINAL
        if before is not None:
            sql += " AND COALESCE(finish_time, submit_time) < ?"
            args = (*TERMINAL, before)
        return self._all(sql + " ORDER BY COALESCE(finish_time, submit_time), submit_time", args)

    def unfinished_requests(self) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM requests WHERE status NOT IN (?, ?, ?) ORDER BY submit_time", TERMINAL
        )

    def finish_if_done(self, request_id: str) -> bool:
        """Mark a running request Complete once no file is pending or in flight."""
        with self._tx() as db:
            open_files = db.execute(
                "SELECT COUNT(*) FROM files WHERE request_id = ? AND status IN (?, ?)",
                (request_id, PENDING, IN_FLIGHT),
            ).fetchone()[0]
            if open_files:
                return False
            cur = db.execute(
                "UPDATE requests SET status = ?, finish_time = ? WHERE id = ? AND status = ?",
                (COMPLETE, utcnow(), request_id, RUNNING),
            )
            return cur.rowcount > 0

    # -- files ------------------------------------------------------------------------------
    def files(self, request_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM files WHERE request_id = ? ORDER BY idx", (request_id,))

    def file(self, file_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM files WHERE id = ?", (file_id,))

    def counts(self, request_id: str) -> dict[str, int]:
        rows = self._all(
            "SELECT status, COUNT(*) AS n FROM files WHERE request_id = ? GROUP BY status",
            (request_id,),
        )
        by = {r["status"]: r["n"] for r in rows}
        return {
            "files": sum(by.values()),
            "completed": by.get(SUCCESS, 0),
            "failed": by.get(FAILURE, 0),
            "remaining": by.get(PENDING, 0) + by.get(IN_FLIGHT, 0),
        }

    def results(self, request_id: str, later_than: str | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
        """Finished files, oldest first; ``later_than`` keeps those created at or after it.

        At-or-after (not strictly after): the client moves ``later_than`` to the newest time it
        saw and ignores names it already has, so a second file finishing in the same
        microsecond is still delivered.
        """
        sql = "SELECT * FROM files WHERE request_id = ? AND status IN (?, ?)"
        args: list[Any] = [request_id, SUCCESS, FAILURE]
        if later_than:
            sql += " AND created_at >= ?"
            args.append(later_than)
        if status:
            sql += " AND status = ?"
            args.append(status)
        return self._all(sql + " ORDER BY created_at, idx", tuple(args))

    def requeue_in_flight(self) -> int:
        """After a restart: files that were being transformed go back to pending.

        Their unfinished attempts are recorded as interrupted, which does not count against
        the file's retries (the file was not at fault).
        """
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET finished = ?, error = ? WHERE finished IS NULL",
                (utcnow(), INTERRUPTED),
            )
            return db.execute(
                "UPDATE files SET status = ? WHERE status = ?", (PENDING, IN_FLIGHT)
            ).rowcount

    def failed_attempts(self, file_id: int) -> int:
        """Attempts of a file that failed for reasons of their own (not interruptions)."""
        row = self._one(
            "SELECT COUNT(*) AS n FROM attempts WHERE file_id = ? AND error IS NOT NULL"
            " AND error != ?",
            (file_id, INTERRUPTED),
        )
        return int(row["n"]) if row else 0

    def pending_files(self, request_id: str) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM files WHERE request_id = ? AND status = ? ORDER BY idx",
            (request_id, PENDING),
        )

    def start_attempt(self, file_id: int, worker: str, log_path: str) -> int | None:
        """Claim a pending file for a worker; returns the attempt number, None if not pending."""
        with self._tx() as db:
            row = db.execute(
                "SELECT f.attempts, f.status, r.status AS rstatus FROM files f"
                " JOIN requests r ON r.id = f.request_id WHERE f.id = ?",
                (file_id,),
            ).fetchone()
            if row is None or row["status"] != PENDING or row["rstatus"] != RUNNING:
                return None
            n = int(row["attempts"]) + 1
            db.execute(
                "UPDATE files SET status = ?, attempts = ? WHERE id = ?", (IN_FLIGHT, n, file_id)
            )
            db.execute(
                "INSERT OR REPLACE INTO attempts (file_id, n, worker, started, log_path)"
                " VALUES (?, ?, ?, ?, ?)",
                (file_id, n, worker, utcnow(), log_path),
            )
            return n

    def end_attempt(self, file_id: int, n: int, *, returncode: int | None, error: str | None,
                    seconds: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET finished = ?, returncode = ?, error = ?, seconds = ?"
                " WHERE file_id = ? AND n = ?",
                (utcnow(), returncode, error, seconds, file_id, n),
            )

    def file_succeeded(self, file_id: int, *, total_bytes: int, total_events: int | None,
                       seconds: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE files SET status = ?, total_bytes = ?, total_events = ?, error = NULL,"
                " created_at = ?, seconds = ? WHERE id = ?",
                (SUCCESS, total_bytes, total_events, utcnow(), seconds, file_id),
            )

    def file_retry(self, file_id: int, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE files SET status = ?, error = ? WHERE id = ?", (PENDING, error, file_id)
            )

    def file_failed(self, file_id: int, error: str, seconds: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE files SET status = ?, error = ?, created_at = ?, seconds = ? WHERE id = ?",
                (FAILURE, error, utcnow(), seconds, file_id),
            )

    def abandon_attempt(self, file_id: int, error: str) -> None:
        """Close the file's open attempt (if any) with ``error`` and mark the file failed."""
        now = utcnow()
        with self._tx() as db:
            db.execute("UPDATE attempts SET finished = ?, error = ? WHERE file_id = ? AND"
                       " finished IS NULL", (now, error, file_id))
            db.execute("UPDATE files SET status = ?, error = ?, created_at = ? WHERE id = ?"
                       " AND status = ?", (FAILURE, error, now, file_id, IN_FLIGHT))

    def attempts(self, file_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM attempts WHERE file_id = ? ORDER BY n", (file_id,))
