"""How long finished requests keep their outputs, so a harness can run for months.

ServiceX deletes old outputs with its minio cleanup job (ssl-hep/ServiceX ``minio_cleanup/``,
helm values ``minioCleanup``: ``maxAge: 30`` days, and oldest buckets first once the store
passes ``maxSize``; 2024-10). The harness does the same, by age and by capacity:

* **age**: a finished request older than ``expire_days`` is deleted (bucket, read-only key,
  folder and records), as ``servicex transforms delete`` would; checked at start and hourly;
* **capacity**: SeaweedFS gives every bucket a volume of its own, and its volume count is
  capped, so before a new request gets its bucket (and after an upload fails) the oldest
  finished requests are deleted until ``MIN_FREE_VOLUMES`` slots are free again. Running
  requests are never touched.

The client's own cache (``servicex cache clear``) lives under ``<state>/client-cache`` with the
harness's servicex.yaml, so clearing it frees that space too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from .state import StateDB

log = logging.getLogger(__name__)

#: Volume slots kept free: one for the next request's bucket and one spare (SeaweedFS's filer
#: may claim a slot for collection '' of its own).
MIN_FREE_VOLUMES = 2
SWEEP_INTERVAL_S = 3600.0


class Retention:
    """Deletes finished requests by age and when the object store runs out of volumes."""

    def __init__(self, *, db: StateDB, remove: Callable[[str], None],
                 free_volumes: Callable[[], int | None], expire_days: float) -> None:
        self.db = db
        self.remove = remove
        self.free_volumes = free_volumes
        self.expire_days = expire_days
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def expire(self) -> list[str]:
        """Delete finished requests older than ``expire_days``; returns their ids."""
        if self.expire_days <= 0:
            return []
        cutoff = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                  - dt.timedelta(days=self.expire_days)).isoformat(timespec="microseconds")
        gone = []
        with self._lock:
            for req in self.db.finished_requests(before=cutoff):
                self._remove(req, f"older than {self.expire_days:g} days")
                gone.append(req["id"])
        return gone

    def make_room(self, need: int = MIN_FREE_VOLUMES) -> list[str]:
        """Delete the oldest finished requests until ``need`` volume slots are free."""
        gone: list[str] = []
        with self._lock:
            free = self.free_volumes()
            if free is None or free >= need:
                return gone
            for req in self.db.finished_requests():
                self._remove(req, f"the object store had {free} free volume(s)")
                gone.append(req["id"])
                free = self.free_volumes()
                if free is None or free >= need:
                    break
            else:
                log.warning("object store: %s free volume(s) and no finished request left to "
                            "delete; raise s3_volumes or delete transforms", free)
        return gone

    def _remove(self, req: dict, why: str) -> None:
        try:
            self.remove(req["id"])
            log.info("deleted finished request %s (%s, finished %s): %s", req["id"],
                     req["title"], req["finish_time"], why)
        except Exception:  # noqa: BLE001 - one stuck request must not stop the cleanup
            log.exception("could not delete request %s", req["id"])

    def start(self) -> None:
        self.expire()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SWEEP_INTERVAL_S):
            self.expire()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
