"""How long finished requests keep their outputs, so a harness can run for months.

ServiceX deletes old outputs with its minio cleanup job (ssl-hep/ServiceX ``minio_cleanup/``,
helm values ``minioCleanup``: ``maxAge: 30`` days, and oldest buckets first once the store
passes ``maxSize``; 2024-10). The harness does the same, by age and by capacity:

* **age**: a finished request older than ``expire_days`` is deleted (bucket, read-only key,
  folder and records), as ``servicex transforms delete`` would; checked at start and hourly;
* **capacity**: SeaweedFS gives every bucket a volume of its own, and its volume count is
  capped, so the oldest finished requests are deleted when the free slots run low: in the
  background once fewer than ``low_water`` are free (a quarter of the cap, at least
  ``MIN_FREE_VOLUMES``), and at once, in the caller, when a new request would find none or
  an upload failed. Running requests are never touched, and requests a client asked about in
  the last minute (``server.IN_USE_S``) go last.

The client's own cache (``servicex cache clear``) lives under ``<state>/client-cache`` with the
harness's servicex.yaml, so clearing it frees that space too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from .state import StateDB

log = logging.getLogger(__name__)

#: Volume slots kept free: one for the next request's bucket and one spare (SeaweedFS's filer
#: may claim a slot for collection '' of its own).
MIN_FREE_VOLUMES = 2
SWEEP_INTERVAL_S = 3600.0


class Retention:
    """Deletes finished requests by age and when the object store runs out of volumes."""

    def __init__(self, *, db: StateDB, remove: Callable[[list[str]], None],
                 free_volumes: Callable[[], int | None], expire_days: float,
                 max_volumes: int | None = None,
                 in_use: Callable[[str], bool] = lambda _rid: False) -> None:
        self.db = db
        self.remove = remove
        self.in_use = in_use
        self.free_volumes = free_volumes
        self.expire_days = expire_days
        self.low_water = max(MIN_FREE_VOLUMES, (max_volumes or 0) // 4)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.deleted = 0  # requests deleted so far (by age or for room)

    def expire(self) -> list[str]:
        """Delete finished requests older than ``expire_days``; returns their ids."""
        if self.expire_days <= 0:
            return []
        cutoff = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                  - dt.timedelta(days=self.expire_days)).isoformat(timespec="microseconds")
        with self._lock:
            old = self.db.finished_requests(before=cutoff)
            self._remove_all(old, f"older than {self.expire_days:g} days")
        return [r["id"] for r in old]

    def make_room(self, need: int = MIN_FREE_VOLUMES) -> list[str]:
        """Delete the oldest finished requests until ``need`` volume slots are free."""
        gone: list[str] = []
        with self._lock:
            free = self.free_volumes()
            while free is not None and free < need:
                done = self.db.finished_requests()
                # requests a client is still polling or downloading go last
                done.sort(key=lambda r: self.in_use(r["id"]))
                batch = done[: need - free]
                if not batch:
                    log.warning("object store: %d free volume(s) and no finished request left "
                                "to delete; raise s3_volumes or delete transforms", free)
                    break
                if not self._remove_all(batch, f"the object store had {free} free volume(s)"):
                    break
                gone += [r["id"] for r in batch]
                free = self.free_volumes()
        return gone

    def check(self) -> None:
        """Called before a new request takes a volume: room in the background, or now."""
        free = self.free_volumes()
        if free is None:
            return
        if free < 1:
            self.make_room(1)
        if free < self.low_water:
            self._wake.set()

    def _remove_all(self, reqs: list[dict], why: str) -> bool:
        if not reqs:
            return True
        try:
            self.remove([r["id"] for r in reqs])
        except Exception:  # noqa: BLE001 - a stuck request must not stop the harness
            log.exception("could not delete %d finished request(s)", len(reqs))
            return False
        self.deleted += len(reqs)
        for req in reqs:
            log.info("deleted finished request %s (%s, finished %s): %s", req["id"],
                     req["title"], req["finish_time"], why)
        return True

    def start(self) -> None:
        self.expire()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_expiry = time.monotonic() + SWEEP_INTERVAL_S  # start() has just expired
        while not self._stop.is_set():
            self._wake.wait(timeout=SWEEP_INTERVAL_S)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if time.monotonic() >= next_expiry:
                    self.expire()
                    next_expiry = time.monotonic() + SWEEP_INTERVAL_S
                self.make_room(self.low_water)
            except Exception:  # noqa: BLE001 - the store may be down for a while; try again
                log.exception("cleanup of finished requests failed")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
